/// A frozen multi-pattern matcher over bytes (see the folder's README for the layout).
/// Immutable and `Sendable`: one instance serves every task.
///
/// Two stages. A prefilter rejects most messages that contain no pattern: a pattern can start
/// only where the message's first `window` bytes hash to a set bit of a bitset built from the
/// patterns (patterns shorter than the window have one small bitset per length). A message with
/// no such position costs one pass of loads and bit tests; otherwise the Aho-Corasick automaton
/// (dense root row, sparse rows below, failure links) runs from the first candidate position.
///
/// All tables live in one ``Tables`` object behind raw pointers, so a scan does no reference
/// counting per array (which cost more than the scan itself on short messages).
public struct KeywordAutomaton: Sendable {
    /// Owns the memory; `scanner` holds plain copies of its pointers, so a scan touches no reference count.
    let tables: Tables
    @usableFromInline let scanner: Scanner
    /// Byte length of each pattern, to turn a match's end into its start.
    public let patternLengths: [UInt32]

    init(root: [UInt32], transitionStart: [UInt32], transitionBytes: [UInt8], transitionTargets: [UInt32], fail: [UInt32],
         outputStart: [UInt32], outputs: [UInt32], patternLengths: [UInt32], filter: [UInt64], window: Int, filterShift: UInt64,
         shortLengths: [Int], shortFilters: [[UInt64]], shortShifts: [UInt64], boundaryOnly: Bool) {
        self.patternLengths = patternLengths
        tables = Tables(root: root, transitionStart: transitionStart, transitionBytes: transitionBytes, transitionTargets: transitionTargets,
                        fail: fail, outputStart: outputStart, outputs: outputs, filter: filter, window: window, filterShift: filterShift,
                        shortLengths: shortLengths, shortFilters: shortFilters, shortShifts: shortShifts, boundaryOnly: boundaryOnly)
        scanner = tables.scanner
    }

    public var stateCount: Int { tables.stateCount }
    /// Set on state references (in rows, the root row and failure links) to states with matches.
    @usableFromInline static let matchFlag: UInt32 = 1 << 31
    public var patternCount: Int { patternLengths.count }
    /// Whether the prefilter is on (off when most patterns are shorter than 3 bytes).
    public var hasPrefilter: Bool { scanner.window > 0 }

    /// Bytes held by the automaton's tables.
    public var memoryBytes: Int { tables.bytes + patternLengths.count * 4 }

    /// Calls `body(pattern, end)` for every occurrence of every pattern (overlapping), in order of
    /// their end offset. `end` is exclusive; the start is `end - patternLengths[pattern]`.
    @inlinable
    public func forEachMatch(in text: UnsafeBufferPointer<UInt8>, _ body: (_ pattern: Int, _ end: Int) -> Void) {
        guard let base = text.baseAddress, !text.isEmpty else { return }
        let t = scanner
        var from = 0
        if t.window > 0 {
            guard let first = t.firstCandidate(base, text.count) else { return }
            from = first
        }
        t.scan(base, from: from, to: text.count, body)
    }

    /// Convenience for tests and tools: every (pattern, start, end).
    public func matches(in text: [UInt8]) -> [(pattern: Int, start: Int, end: Int)] {
        var found: [(Int, Int, Int)] = []
        text.withUnsafeBufferPointer { buffer in
            forEachMatch(in: buffer) { pattern, end in found.append((pattern, end - Int(patternLengths[pattern]), end)) }
        }
        return found
    }

    /// Owns the automaton's memory: the arrays, copied once into memory that never moves or changes.
    /// ``Scanner`` holds the pointers.
    final class Tables: @unchecked Sendable {  // immutable after init
        let scanner: Scanner
        let stateCount: Int
        let bytes: Int
        private let owned: [UnsafeMutableRawPointer]

        init(root: [UInt32], transitionStart: [UInt32], transitionBytes: [UInt8], transitionTargets: [UInt32], fail: [UInt32],
             outputStart: [UInt32], outputs: [UInt32], filter: [UInt64], window: Int, filterShift: UInt64,
             shortLengths: [Int], shortFilters: [[UInt64]], shortShifts: [UInt64], boundaryOnly: Bool) {
            var owned: [UnsafeMutableRawPointer] = []
            var bytes = 0
            func copy<T>(_ array: [T]) -> UnsafeMutablePointer<T> {
                let p = UnsafeMutablePointer<T>.allocate(capacity: max(array.count, 1))
                _ = UnsafeMutableBufferPointer(start: p, count: array.count).initialize(from: array)
                owned.append(UnsafeMutableRawPointer(p))
                bytes += array.count * MemoryLayout<T>.stride
                return p
            }
            scanner = Scanner(root: copy(root), transitionStart: copy(transitionStart), transitionBytes: copy(transitionBytes),
                              transitionTargets: copy(transitionTargets), fail: copy(fail), outputStart: copy(outputStart),
                              outputs: copy(outputs), filter: copy(filter), window: window, filterShift: filterShift,
                              windowMask: window >= 8 || window == 0 ? ~0 : (1 << UInt64(window * 8)) - 1,
                              boundaryOnly: boundaryOnly, shortCount: shortLengths.count, shortLengths: copy(shortLengths),
                              shortShifts: copy(shortShifts), shortFilters: copy(shortFilters.map { copy($0) }))
            stateCount = fail.count
            self.bytes = bytes
            self.owned = owned
        }

        deinit { for p in owned { p.deallocate() } }
    }

    /// Plain copies of the tables' pointers and sizes: what a scan reads.
    @usableFromInline
    struct Scanner: @unchecked Sendable {
        @usableFromInline let root: UnsafeMutablePointer<UInt32>
        @usableFromInline let transitionStart: UnsafeMutablePointer<UInt32>
        @usableFromInline let transitionBytes: UnsafeMutablePointer<UInt8>
        @usableFromInline let transitionTargets: UnsafeMutablePointer<UInt32>
        @usableFromInline let fail: UnsafeMutablePointer<UInt32>
        @usableFromInline let outputStart: UnsafeMutablePointer<UInt32>
        @usableFromInline let outputs: UnsafeMutablePointer<UInt32>
        @usableFromInline let filter: UnsafeMutablePointer<UInt64>
        /// 0 = no prefilter.
        @usableFromInline let window: Int
        @usableFromInline let filterShift: UInt64
        @usableFromInline let windowMask: UInt64
        /// Every pattern starts with an ASCII or UTF-8 lead byte, so on UTF-8 text a match can start
        /// only at a character boundary: the prefilter steps a character at a time (a third of the
        /// positions in Chinese text). Text that is not UTF-8 is still scanned correctly, because a
        /// continuation byte steps by one.
        @usableFromInline let boundaryOnly: Bool
        /// Short patterns: `shortCount` lengths, each with its bitset and shift.
        @usableFromInline let shortCount: Int
        @usableFromInline let shortLengths: UnsafeMutablePointer<Int>
        @usableFromInline let shortShifts: UnsafeMutablePointer<UInt64>
        @usableFromInline let shortFilters: UnsafeMutablePointer<UnsafeMutablePointer<UInt64>>

        /// `length` (≤ 8) bytes at `i` as a little-endian integer; one unaligned load when 8 bytes are there.
        @inlinable @inline(__always)
        static func load(_ base: UnsafePointer<UInt8>, _ i: Int, _ count: Int, _ length: Int) -> UInt64 {
            if i + 8 <= count {
                let v = UnsafeRawPointer(base).loadUnaligned(fromByteOffset: i, as: UInt64.self)
                return length >= 8 ? v : v & ((1 << UInt64(length * 8)) - 1)
            }
            var v: UInt64 = 0
            for k in 0..<length { v |= UInt64(base[i + k]) << UInt64(k * 8) }
            return v
        }

        /// The byte length of the UTF-8 character whose first byte is `byte` (1 for ASCII and for a stray
        /// continuation byte): one shift of a 16-nibble constant.
        @inlinable @inline(__always)
        static func step(_ byte: UInt8) -> Int {
            Int((0x4322_1111_1111_1111 as UInt64) >> (UInt64(byte >> 4) << 2) & 0xF)
        }

        @inlinable @inline(__always)
        static func hit(_ bits: UnsafeMutablePointer<UInt64>, _ value: UInt64, _ shift: UInt64) -> Bool {
            let h = (value &* 0x9E37_79B9_7F4A_7C15) >> shift
            return bits[Int(h >> 6)] & (1 << (h & 63)) != 0
        }

        /// The first position whose window may start a pattern, or nil when none can.
        @inlinable
        func firstCandidate(_ base: UnsafePointer<UInt8>, _ count: Int) -> Int? {
            let window = self.window, shift = filterShift, mask = windowMask, bits = filter, boundaries = boundaryOnly
            if shortCount == 0 {
                // The common case: one load, one multiply, one bit test per character.
                guard count >= window else { return nil }
                let raw = UnsafeRawPointer(base)
                var i = 0
                while i + 8 <= count {
                    let v = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                    if Self.hit(bits, v & mask, shift) { return i }
                    i += boundaries ? Self.step(UInt8(truncatingIfNeeded: v)) : 1
                }
                while i + window <= count {
                    if Self.hit(bits, Self.load(base, i, count, window), shift) { return i }
                    i += boundaries ? Self.step(base[i]) : 1
                }
                return nil
            }
            var i = 0
            while i < count {
                for k in 0..<shortCount where i + shortLengths[k] <= count {
                    if Self.hit(shortFilters[k], Self.load(base, i, count, shortLengths[k]), shortShifts[k]) { return i }
                }
                if i + window <= count, Self.hit(bits, Self.load(base, i, count, window), shift) { return i }
                i += boundaries ? Self.step(base[i]) : 1
            }
            return nil
        }

        @inlinable
        func scan(_ text: UnsafePointer<UInt8>, from: Int, to count: Int, _ body: (_ pattern: Int, _ end: Int) -> Void) {
            // State references carry `matchFlag` when the state has matches to report, so a byte
            // that reaches a state without any costs no look-up in the output tables.
            let mask = ~KeywordAutomaton.matchFlag
            var state: UInt32 = 0
            for i in from..<count {
                let byte = text[i]
                while true {
                    let s = Int(state & mask)
                    if s == 0 { state = root[Int(byte)]; break }
                    var next: UInt32 = 0
                    var k = Int(transitionStart[s])
                    let end = Int(transitionStart[s + 1])
                    while k < end {
                        if transitionBytes[k] == byte { next = transitionTargets[k]; break }
                        k += 1
                    }
                    if next != 0 { state = next; break }
                    state = fail[s]
                }
                if state & KeywordAutomaton.matchFlag != 0 {
                    let s = Int(state & mask)
                    for o in Int(outputStart[s])..<Int(outputStart[s + 1]) { body(Int(outputs[o]), i + 1) }
                }
            }
        }
    }
}
