import CPCRE2

/// One PCRE2 pattern, compiled with UTF and Unicode properties (so `\d`, `\w` and `\p{Han}` work on
/// Chinese), case-insensitive when the rule set folds case, and JIT-compiled when the platform allows.
///
/// The compiled code is read-only after init; each match uses its own match data, so one instance
/// is safe to use from many tasks at once.
public final class PatternRegex: @unchecked Sendable {
    public struct CompileError: Error, Equatable {
        public let message: String
        /// Character offset in the pattern where PCRE2 gave up.
        public let offset: Int
    }

    public struct Match: Equatable, Sendable {
        public var range: Range<Int>
        /// Named groups that took part in the match, by name, as byte ranges.
        public var captures: [String: Range<Int>]
    }

    public let pattern: String
    private let code: OpaquePointer
    /// (group number, name) of each named group.
    let names: [(group: Int, name: String)]

    public init(_ pattern: String, caseless: Bool) throws(CompileError) {
        self.pattern = pattern
        var options = UInt32(PCRE2_UTF | PCRE2_UCP)
        if caseless { options |= UInt32(PCRE2_CASELESS) }
        var errorCode: Int32 = 0
        var errorOffset = 0
        let bytes = Array(pattern.utf8)
        guard let code = pcre2_compile_8(bytes, bytes.count, options, &errorCode, &errorOffset, nil) else {
            var buffer = [UInt8](repeating: 0, count: 256)
            let length = pcre2_get_error_message_8(errorCode, &buffer, buffer.count)
            let message = String(decoding: buffer.prefix(Int(max(length, 0))), as: UTF8.self)
            // PCRE2 reports a code-unit (byte) offset; authors count characters.
            let characters = String(decoding: bytes.prefix(errorOffset), as: UTF8.self).count
            throw CompileError(message: message, offset: characters)
        }
        self.code = code
        _ = pcre2_jit_compile_8(code, UInt32(PCRE2_JIT_COMPLETE))  // falls back to the interpreter if JIT is unavailable
        names = PatternRegex.nameTable(code)
    }

    deinit { pcre2_code_free_8(code) }

    private static func nameTable(_ code: OpaquePointer) -> [(Int, String)] {
        var count: UInt32 = 0, entrySize: UInt32 = 0
        var table: UnsafePointer<UInt8>?
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMECOUNT), &count)
        guard count > 0 else { return [] }
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMEENTRYSIZE), &entrySize)
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_NAMETABLE), &table)
        guard let table else { return [] }
        var result: [(Int, String)] = []
        for i in 0..<Int(count) {
            let entry = table + i * Int(entrySize)
            let group = Int(entry[0]) << 8 | Int(entry[1])
            let name = String(cString: entry + 2)
            result.append((group, name))
        }
        return result.sorted { $0.0 < $1.0 }
    }

    /// Match data that one task reuses across several patterns (one allocation per message
    /// instead of one per pattern tried). Not to be shared between tasks.
    public final class Scratch {
        let data: OpaquePointer
        let pairs: Int
        /// Room for `groups` capturing groups (the largest of the patterns it will serve).
        public init(groups: Int) {
            pairs = groups + 1
            data = pcre2_match_data_create_8(UInt32(pairs), nil)
        }
        deinit { pcre2_match_data_free_8(data) }
    }

    /// Capturing groups of the pattern.
    public var groupCount: Int {
        var count: UInt32 = 0
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_CAPTURECOUNT), &count)
        return Int(count)
    }

    /// The first match in `text` (valid UTF-8), or nil, using `scratch` (big enough for this pattern).
    func firstMatch(in text: UnsafeBufferPointer<UInt8>, scratch: Scratch) -> Match? {
        let base = text.baseAddress ?? UnsafePointer(bitPattern: 1)!  // PCRE2 needs a non-null subject
        let rc = pcre2_match_8(code, base, text.count, 0, UInt32(PCRE2_NO_UTF_CHECK), scratch.data, nil)
        guard rc > 0, let ovector = pcre2_get_ovector_pointer_8(scratch.data) else { return nil }
        var captures: [String: Range<Int>] = [:]
        let unset = Int(bitPattern: UInt.max)
        for (group, name) in names where group < Int(rc) {
            let start = ovector[2 * group], end = ovector[2 * group + 1]
            if start != unset, end != unset { captures[name] = start..<end }
        }
        return Match(range: ovector[0]..<ovector[1], captures: captures)
    }

    /// The first match in `text` (valid UTF-8), or nil.
    func firstMatch(in text: UnsafeBufferPointer<UInt8>) -> Match? {
        guard let data = pcre2_match_data_create_from_pattern_8(code, nil) else { return nil }
        defer { pcre2_match_data_free_8(data) }
        let base = text.baseAddress ?? UnsafePointer(bitPattern: 1)!  // PCRE2 needs a non-null subject
        let rc = pcre2_match_8(code, base, text.count, 0, UInt32(PCRE2_NO_UTF_CHECK), data, nil)
        guard rc > 0, let ovector = pcre2_get_ovector_pointer_8(data) else { return nil }
        var captures: [String: Range<Int>] = [:]
        let unset = Int(bitPattern: UInt.max)
        for (group, name) in names where group < Int(rc) {
            let start = ovector[2 * group], end = ovector[2 * group + 1]
            if start != unset, end != unset { captures[name] = start..<end }
        }
        return Match(range: ovector[0]..<ovector[1], captures: captures)
    }

    public func firstMatch(in text: [UInt8]) -> Match? {
        text.withUnsafeBufferPointer { firstMatch(in: $0) }
    }

    /// Whether the pattern matches the empty message (then it matches every message).
    var matchesEmpty: Bool { firstMatch(in: []) != nil }
}
