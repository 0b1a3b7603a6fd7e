/// A frozen multi-pattern matcher over bytes (see the folder's README for the layout).
/// Immutable and `Sendable`: one instance serves every task.
///
/// Two stages. A prefilter rejects most messages that contain no pattern: a pattern can start
/// only where the message's first `window` bytes hash to a set bit of a bitset built from the
/// patterns (patterns shorter than the window have one small bitset per length). The filter tests
/// eight positions at a time, each independently of the others (no step depends on the last), so
/// the loads and multiplies pipeline. A message with no candidate position costs that one pass;
/// otherwise the Aho-Corasick automaton runs from the first candidate position.
///
/// The automaton steps a whole UTF-8 character at a time when every pattern is a sequence of
/// whole characters (`characterLevel`): a symbol is a character's 1–4 bytes read as one integer,
/// so a Chinese character is one transition instead of three and the trie has a third of the
/// states. Otherwise (a pattern that starts or ends inside a character) it steps a byte at a time.
/// Each state is one record in one array (failure link, row, outputs), so a step touches one
/// place in memory; rows of more than `KeywordAutomaton.linearRowLimit` entries are hashed.
///
/// All tables live in one ``Tables`` object behind raw pointers, so a scan does no reference
/// counting per array (which cost more than the scan itself on short messages).
public struct KeywordAutomaton: Sendable {
    /// Owns the memory; `scanner` holds plain copies of its pointers, so a scan touches no reference count.
    let tables: Tables
    @usableFromInline let scanner: Scanner
    /// Byte length of each pattern, to turn a match's end into its start.
    public let patternLengths: [UInt32]

    init(root: [UInt32], nodes: [UInt32], stateCount: Int, characters: Bool, patternLengths: [UInt32], filter: [UInt64],
         window: Int, filterMask: UInt64, shortLengths: [Int], shortFilters: [[UInt64]], shortMasks: [UInt64], boundaryOnly: Bool) {
        self.patternLengths = patternLengths
        tables = Tables(root: root, nodes: nodes, stateCount: stateCount, characters: characters, filter: filter, window: window,
                        filterMask: filterMask, shortLengths: shortLengths, shortFilters: shortFilters, shortMasks: shortMasks,
                        boundaryOnly: boundaryOnly)
        scanner = tables.scanner
    }

    public var stateCount: Int { tables.stateCount }
    /// Set on state references (in rows, the root row and failure links) to states with matches.
    @usableFromInline static let matchFlag: UInt32 = 1 << 31
    /// Set in a record's header when its row is an open-addressed hash table rather than a list.
    @usableFromInline static let hashedRow: UInt32 = 1 << 30
    /// Rows with more entries than this are hashed.
    static let linearRowLimit = 6
    public var patternCount: Int { patternLengths.count }
    /// Whether the prefilter is on (off when most patterns are shorter than 3 bytes).
    public var hasPrefilter: Bool { scanner.window > 0 }
    /// Whether the automaton steps a UTF-8 character at a time (every pattern is whole characters).
    public var characterLevel: Bool { scanner.characters }

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

        init(root: [UInt32], nodes: [UInt32], stateCount: Int, characters: Bool, filter: [UInt64], window: Int, filterMask: UInt64,
             shortLengths: [Int], shortFilters: [[UInt64]], shortMasks: [UInt64], boundaryOnly: Bool) {
            var owned: [UnsafeMutableRawPointer] = []
            var bytes = 0
            func copy<T>(_ array: [T]) -> UnsafeMutablePointer<T> {
                let p = UnsafeMutablePointer<T>.allocate(capacity: max(array.count, 1))
                _ = UnsafeMutableBufferPointer(start: p, count: array.count).initialize(from: array)
                owned.append(UnsafeMutableRawPointer(p))
                bytes += array.count * MemoryLayout<T>.stride
                return p
            }
            scanner = Scanner(root: copy(root), nodes: copy(nodes), characters: characters, filter: copy(filter), window: window,
                              filterMask: filterMask, boundaryOnly: boundaryOnly, shortCount: shortLengths.count,
                              shortLengths: copy(shortLengths), shortMasks: copy(shortMasks), shortFilters: copy(shortFilters.map { copy($0) }))
            self.stateCount = stateCount
            self.bytes = bytes
            self.owned = owned
        }

        deinit { for p in owned { p.deallocate() } }
    }

    /// Plain copies of the tables' pointers and sizes: what a scan reads.
    ///
    /// `nodes` holds one record per state; a state reference is its record's offset (0 is the
    /// root), with `matchFlag` set when the state has matches. A record: the failure link; a header
    /// (entry count, or `hashedRow` | log2 of the slot count); the row as (symbol, target) pairs
    /// (a hashed row: 2^log2 slots, an empty slot has target 0); then, for states with matches, the
    /// number of matches and the pattern ids. The root's record holds only its hashed row of
    /// multi-byte symbols; its single-byte symbols are in the dense `root` row.
    @usableFromInline
    struct Scanner: @unchecked Sendable {
        @usableFromInline let root: UnsafeMutablePointer<UInt32>
        @usableFromInline let nodes: UnsafeMutablePointer<UInt32>
        /// Symbols are UTF-8 characters (else bytes).
        @usableFromInline let characters: Bool
        @usableFromInline let filter: UnsafeMutablePointer<UInt64>
        /// 0 = no prefilter.
        @usableFromInline let window: Int
        @usableFromInline let filterMask: UInt64
        /// Every pattern starts with an ASCII or UTF-8 lead byte, so a match can start only at a byte
        /// that is not a continuation byte (10xxxxxx): the prefilter ignores the others.
        @usableFromInline let boundaryOnly: Bool
        /// Short patterns: `shortCount` lengths, each with its bitset and shift.
        @usableFromInline let shortCount: Int
        @usableFromInline let shortLengths: UnsafeMutablePointer<Int>
        @usableFromInline let shortMasks: UnsafeMutablePointer<UInt64>
        @usableFromInline let shortFilters: UnsafeMutablePointer<UnsafeMutablePointer<UInt64>>

        @usableFromInline static let hashFactor: UInt64 = 0x9E37_79B9_7F4A_7C15
        @usableFromInline static let highBits: UInt64 = 0x8080_8080_8080_8080

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

        /// The filter's hash of a window's `length` bytes (the low bytes of `value`; the others are
        /// ignored): bits 40… of a multiply, masked to the bitset's size (a constant shift and a mask,
        /// no variable shift).
        @inlinable @inline(__always)
        static func hash(_ value: UInt64, length: Int, mask: UInt64) -> UInt64 {
            hash(value & lowBytes(length), mask: mask)
        }

        @inlinable @inline(__always)
        static func hash(_ window: UInt64, mask: UInt64) -> UInt64 { ((window &* hashFactor) &>> 40) & mask }

        /// A mask of the low `length` (1…8) bytes.
        @inlinable @inline(__always)
        static func lowBytes(_ length: Int) -> UInt64 { length >= 8 ? ~0 : (1 &<< UInt64(8 * length)) &- 1 }

        @inlinable @inline(__always)
        static func hit(_ bits: UnsafeMutablePointer<UInt64>, _ h: UInt64) -> Bool {
            bits[Int(truncatingIfNeeded: h &>> 6)] & (1 &<< (h & 63)) != 0
        }

        /// The high bit of each byte of `word` that is a UTF-8 continuation byte (10xxxxxx).
        @inlinable @inline(__always)
        static func continuations(_ word: UInt64) -> UInt64 { word & ~(word &<< 1) & highBits }

        /// The high bit of the first `n` bytes (n clamped to 0…8).
        @inlinable @inline(__always)
        static func firstBytes(_ n: Int) -> UInt64 {
            n >= 8 ? highBits : n <= 0 ? 0 : highBits & ((1 &<< UInt64(8 * n)) &- 1)
        }

        /// Whether the filters may start a pattern at `p` (1 or 0). `clamped`: near the end, the bytes
        /// are read from the text's last 8 and a filter counts only where its window fits.
        @inlinable @inline(__always)
        func probe(_ raw: UnsafeRawPointer, _ p: Int, _ count: Int, clamped: Bool) -> UInt64 {
            let v: UInt64
            if clamped {
                let off = min(p, count - 8)
                v = raw.loadUnaligned(fromByteOffset: off, as: UInt64.self) &>> UInt64(8 * (p - off))
            } else {
                v = raw.loadUnaligned(fromByteOffset: p, as: UInt64.self)
            }
            var hit = test(filter, v & Self.lowBytes(window), filterMask)
            if clamped { hit &= p + window <= count ? 1 : 0 }
            for k in 0..<shortCount {
                let length = shortLengths[k]
                var h = test(shortFilters[k], v & Self.lowBytes(length), shortMasks[k])
                if clamped { h &= p + length <= count ? 1 : 0 }
                hit |= h
            }
            return hit
        }

        /// 1 when the bit of `window`'s hash is set, else 0.
        @inlinable @inline(__always)
        func test(_ bits: UnsafeMutablePointer<UInt64>, _ window: UInt64, _ mask: UInt64) -> UInt64 {
            let h = Self.hash(window, mask: mask)
            return (bits[Int(truncatingIfNeeded: h &>> 6)] &>> (h & 63)) & 1
        }

        /// The first position whose window may start a pattern, or nil when none can.
        ///
        /// Eight bytes at a time: when patterns start only at character boundaries (`boundaryOnly`),
        /// the boundaries among the eight are found with a few word operations, and a block of
        /// Chinese text (two or three boundaries) costs three independent probes, without branches
        /// between them; a block with more boundaries (ASCII) tests all eight positions.
        @inlinable
        func firstCandidate(_ base: UnsafePointer<UInt8>, _ count: Int) -> Int? {
            guard count >= 8 else { return firstCandidateShort(base, count) }
            let raw = UnsafeRawPointer(base)
            if boundaryOnly { return firstCandidateAtBoundaries(raw, count) }
            var b = 0
            while b + 15 <= count {  // the 8 bytes of each of the positions b..<b+8 are in the text
                if let p = candidate(in: raw, b, count, clamped: false) { return p }
                b += 8
            }
            while b < count {
                if let p = candidate(in: raw, b, count, clamped: true) { return p }
                b += 8
            }
            return nil
        }

        /// ``firstCandidate(_:_:)`` for the common case (patterns start at character boundaries, at
        /// least 8 bytes), written out: wrapping arithmetic only, no branch between the probes of a block.
        @inlinable
        func firstCandidateAtBoundaries(_ raw: UnsafeRawPointer, _ count: Int) -> Int? {
            let bits = filter, keep = Self.lowBytes(window), mask = filterMask, high = Self.highBits
            let shorts = shortCount
            @inline(__always) func probe(_ v: UInt64) -> UInt64 {
                let h = (((v & keep) &* Self.hashFactor) &>> 40) & mask
                var hit = (bits[Int(truncatingIfNeeded: h &>> 6)] &>> (h & 63)) & 1
                if shorts > 0 {
                    for k in 0..<shorts { hit |= test(shortFilters[k], v & Self.lowBytes(shortLengths[k]), shortMasks[k]) }
                }
                return hit
            }
            /// Near the end: each filter only where its window fits.
            @inline(__always) func probe(_ v: UInt64, at p: Int) -> UInt64 {
                var hit = p &+ window <= count ? test(bits, v & keep, mask) : 0
                for k in 0..<shorts where p &+ shortLengths[k] <= count {
                    hit |= test(shortFilters[k], v & Self.lowBytes(shortLengths[k]), shortMasks[k])
                }
                return hit
            }
            let shortest = shorts > 0 ? shortLengths[0] : window
            var b = 0
            while b &+ 15 <= count {
                let w = raw.loadUnaligned(fromByteOffset: b, as: UInt64.self)
                let starts = ~(w & ~(w &<< 1)) & high  // bytes that are not continuation bytes
                let s1 = starts & (starts &- 1), s2 = s1 & (s1 &- 1)
                if s2 & (s2 &- 1) != 0 {
                    // More than three boundaries (ASCII, digits): probe all eight positions.
                    @inline(__always) func at(_ k: Int) -> UInt64 {
                        probe(raw.loadUnaligned(fromByteOffset: b &+ k, as: UInt64.self)) &<< UInt64(8 &* k &+ 7)
                    }
                    let acc = (at(0) | at(1) | at(2) | at(3) | at(4) | at(5) | at(6) | at(7)) & starts
                    if acc != 0 { return b &+ acc.trailingZeroBitCount &>> 3 }
                    b &+= 8
                    continue
                }
                if starts == 0 { b &+= 8; continue }  // no boundary (not UTF-8)
                let p0 = b &+ starts.trailingZeroBitCount &>> 3
                let p1 = b &+ (s1 == 0 ? starts : s1).trailingZeroBitCount &>> 3
                let p2 = b &+ (s2 == 0 ? starts : s2).trailingZeroBitCount &>> 3
                let h0 = probe(raw.loadUnaligned(fromByteOffset: p0, as: UInt64.self))
                let h1 = probe(raw.loadUnaligned(fromByteOffset: p1, as: UInt64.self))
                let h2 = probe(raw.loadUnaligned(fromByteOffset: p2, as: UInt64.self))
                if h0 | h1 | h2 != 0 { return h0 != 0 ? p0 : h1 != 0 ? p1 : p2 }
                b &+= 8
            }
            // The last positions (fewer than 15 bytes left): a position past `count - 8` reads the
            // text's last 8 bytes, shifted; only positions whose window fits count.
            let last = count &- 8
            @inline(__always) func bytes(at p: Int) -> UInt64 {
                let off = Swift.min(p, last)
                return raw.loadUnaligned(fromByteOffset: off, as: UInt64.self) &>> UInt64(truncatingIfNeeded: 8 &* (p &- off))
            }
            while b &+ shortest <= count {
                let w = bytes(at: b)
                var starts = ~(w & ~(w &<< 1)) & Self.firstBytes(count &- shortest &- b &+ 1)
                while starts != 0 {
                    let p = b &+ starts.trailingZeroBitCount &>> 3
                    if probe(bytes(at: p), at: p) != 0 { return p }
                    starts &= starts &- 1
                }
                b &+= 8
            }
            return nil
        }

        /// The first candidate among the positions `b..<b+8`.
        @inlinable @inline(__always)
        func candidate(in raw: UnsafeRawPointer, _ b: Int, _ count: Int, clamped: Bool) -> Int? {
            var starts = Self.highBits
            if boundaryOnly {
                let off = clamped ? min(b, count - 8) : b
                starts &= ~Self.continuations(raw.loadUnaligned(fromByteOffset: off, as: UInt64.self) &>> UInt64(8 * (b - off)))
                if clamped { starts &= Self.firstBytes(count - b) }
                if starts == 0 { return nil }
                let s1 = starts & (starts &- 1), s2 = s1 & (s1 &- 1)
                if s2 & (s2 &- 1) == 0 {
                    // At most three boundaries: probe them (a missing one repeats the first).
                    let p0 = b + starts.trailingZeroBitCount >> 3
                    let p1 = b + (s1 == 0 ? starts : s1).trailingZeroBitCount >> 3
                    let p2 = b + (s2 == 0 ? starts : s2).trailingZeroBitCount >> 3
                    let h = probe(raw, p0, count, clamped: clamped) | probe(raw, p1, count, clamped: clamped) << 1
                        | probe(raw, p2, count, clamped: clamped) << 2
                    if h == 0 { return nil }
                    return h & 1 != 0 ? p0 : h & 2 != 0 ? p1 : p2
                }
            } else if clamped {
                starts &= Self.firstBytes(count - b)
            }
            var acc: UInt64 = 0
            for k in 0..<8 { acc |= probe(raw, b + k, count, clamped: clamped) &<< UInt64(8 * k + 7) }
            acc &= starts
            return acc == 0 ? nil : b + acc.trailingZeroBitCount >> 3
        }

        /// `firstCandidate` for texts shorter than 8 bytes: one position at a time.
        @inlinable
        func firstCandidateShort(_ base: UnsafePointer<UInt8>, _ count: Int) -> Int? {
            for i in 0..<count where !boundaryOnly || base[i] & 0xC0 != 0x80 {
                for k in 0..<shortCount where i + shortLengths[k] <= count {
                    let length = shortLengths[k]
                    if Self.hit(shortFilters[k], Self.hash(Self.load(base, i, count, length), length: length, mask: shortMasks[k])) { return i }
                }
                if i + window <= count, Self.hit(filter, Self.hash(Self.load(base, i, count, window), length: window, mask: filterMask)) {
                    return i
                }
            }
            return nil
        }

        /// The symbol at `i` and its byte length: a UTF-8 character's bytes as one little-endian
        /// integer when they are a lead byte and its continuation bytes, else the single byte. Text
        /// that is not UTF-8 is still cut consistently (see the README: a pattern of whole characters
        /// meets the text's cut at every occurrence).
        @inlinable @inline(__always)
        static func symbol(_ text: UnsafePointer<UInt8>, _ i: Int, _ count: Int) -> (UInt32, Int) {
            let b0 = text[i]
            if b0 < 0xC0 { return (UInt32(b0), 1) }
            let length = Int(truncatingIfNeeded: (0x4322 as UInt32) &>> (UInt32(b0 >> 4 & 3) << 2) & 0xF)
            var v: UInt32
            if i + 4 <= count {
                v = UnsafeRawPointer(text).loadUnaligned(fromByteOffset: i, as: UInt32.self)
            } else {
                v = 0
                for k in 0..<(count - i) { v |= UInt32(text[i + k]) << UInt32(8 * k) }
            }
            let keep: UInt32 = length == 4 ? ~0 : (1 &<< UInt32(8 * length)) &- 1
            if (v ^ 0x8080_8080) & 0xC0C0_C000 & keep != 0 { return (UInt32(b0), 1) }
            return (v & keep, length)
        }

        /// The slot of `symbol` in a hashed row of 2^log2 slots.
        @inlinable @inline(__always)
        static func slot(_ symbol: UInt32, _ log2: UInt32) -> Int {
            Int(truncatingIfNeeded: (symbol &* 0x9E37_79B1) &>> (32 &- log2))
        }

        /// The target of `symbol` from the state whose record is at `s`, or 0 when it has none.
        @inlinable @inline(__always)
        func next(_ s: Int, _ symbol: UInt32) -> UInt32 {
            let header = nodes[s + 1]
            if header & KeywordAutomaton.hashedRow == 0 {
                var k = s + 2
                let end = k + 2 * Int(header)
                while k < end {
                    if nodes[k] == symbol { return nodes[k + 1] }
                    k += 2
                }
                return 0
            }
            let log2 = header & 31
            let mask = (1 << Int(log2)) - 1
            var j = Self.slot(symbol, log2)
            while true {
                let k = s + 2 + 2 * j
                let target = nodes[k + 1]
                if target == 0 || nodes[k] == symbol { return target }
                j = (j + 1) & mask
            }
        }

        /// Where the matches of the state at `s` are listed (their count, then the pattern ids).
        @inlinable @inline(__always)
        func outputs(_ s: Int) -> Int {
            let header = nodes[s + 1]
            return s + 2 + (header & KeywordAutomaton.hashedRow == 0 ? 2 * Int(header) : 2 << Int(header & 31))
        }

        @inlinable
        func scan(_ text: UnsafePointer<UInt8>, from: Int, to count: Int, _ body: (_ pattern: Int, _ end: Int) -> Void) {
            if characters { run(text, from: from, to: count, characters: true, body) } else { run(text, from: from, to: count, characters: false, body) }
        }

        @inlinable @inline(__always)
        func run(_ text: UnsafePointer<UInt8>, from: Int, to count: Int, characters: Bool, _ body: (_ pattern: Int, _ end: Int) -> Void) {
            let mask = ~KeywordAutomaton.matchFlag
            var state: UInt32 = 0
            var i = from
            while i < count {
                let symbol: UInt32
                if characters {
                    let (s, length) = Self.symbol(text, i, count)
                    symbol = s
                    i &+= length
                } else {
                    symbol = UInt32(text[i])
                    i &+= 1
                }
                state = step(state & mask, symbol)
                if state & KeywordAutomaton.matchFlag != 0 { report(Int(state & mask), end: i, body) }
            }
        }

        /// The state after `symbol` from state `s` (following failure links).
        @inlinable @inline(__always)
        func step(_ state: UInt32, _ symbol: UInt32) -> UInt32 {
            var s = Int(state)
            while s != 0 {
                let target = next(s, symbol)
                if target != 0 { return target }
                s = Int(nodes[s] & ~KeywordAutomaton.matchFlag)
            }
            return symbol < 256 ? root[Int(symbol)] : next(0, symbol)
        }

        @inlinable @inline(__always)
        func report(_ s: Int, end: Int, _ body: (_ pattern: Int, _ end: Int) -> Void) {
            let o = outputs(s)
            for k in (o + 1)..<(o + 1 + Int(nodes[o])) { body(Int(nodes[k]), end) }
        }
    }
}
