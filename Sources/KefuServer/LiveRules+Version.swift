extension LiveRules {
    /// The version of the rule set being served: a hash of its files exactly as read (path and
    /// contents), 16 hex digits. Two instances serving the same files show the same version
    /// (/status, the instance table), whatever the files' times.
    public var version: String { Self.version(of: engine.rules.spec.sources) }

    /// FNV-1a (64 bit) over each file's path and bytes, in path order: a label, not a signature.
    static func version(of sources: [String: String]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        for path in sources.keys.sorted() {
            for byte in path.utf8 { mix(byte) }
            mix(0)
            for byte in sources[path]!.utf8 { mix(byte) }
            mix(0xFF)
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
