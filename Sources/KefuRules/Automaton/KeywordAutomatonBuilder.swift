/// Collects patterns and builds a ``KeywordAutomaton``. Duplicate patterns share one id.
public struct KeywordAutomatonBuilder {
    private var ids: [[UInt8]: Int] = [:]
    public private(set) var patterns: [[UInt8]] = []

    public init() {}

    /// Adds a pattern (returns the id of an identical pattern already added). Empty patterns are refused (nil).
    @discardableResult
    public mutating func add(_ pattern: [UInt8]) -> Int? {
        guard !pattern.isEmpty else { return nil }
        if let id = ids[pattern] { return id }
        let id = patterns.count
        ids[pattern] = id
        patterns.append(pattern)
        return id
    }

    public func build() -> KeywordAutomaton {
        // 1. The trie, with per-state children kept sorted by byte.
        var children: [[(byte: UInt8, target: UInt32)]] = [[]]
        var own: [Int32] = [-1]  // pattern ending exactly here
        var depth: [UInt16] = [0]
        for (id, pattern) in patterns.enumerated() {
            var state = 0
            for byte in pattern {
                if let next = Self.child(children[state], byte) {
                    state = Int(next)
                } else {
                    let next = children.count
                    children.append([])
                    own.append(-1)
                    depth.append(UInt16(clamping: Int(depth[state]) + 1))
                    let index = children[state].firstIndex { $0.byte > byte } ?? children[state].count
                    children[state].insert((byte, UInt32(next)), at: index)
                    state = next
                }
            }
            own[state] = Int32(id)
        }
        let count = children.count
        // 2. Failure links and output lists, breadth first so a state's failure is done before it.
        var fail = [UInt32](repeating: 0, count: count)
        var outputs: [[UInt32]] = Array(repeating: [], count: count)
        var queue: [Int] = []
        queue.reserveCapacity(count)
        for (_, target) in children[0] { queue.append(Int(target)) }
        var head = 0
        while head < queue.count {
            let state = queue[head]
            head += 1
            var list: [UInt32] = own[state] >= 0 ? [UInt32(own[state])] : []
            list += outputs[Int(fail[state])]
            outputs[state] = list
            for (byte, target) in children[state] {
                var f = Int(fail[state])
                while f != 0, Self.child(children[f], byte) == nil { f = Int(fail[f]) }
                let candidate = Self.child(children[f], byte) ?? 0
                fail[Int(target)] = candidate == target ? 0 : candidate
                queue.append(Int(target))
            }
        }
        // 3. Freeze: dense root row, sparse rows elsewhere, flat outputs. States are renumbered
        //    breadth first, so the shallow states every scan visits sit together in memory (the
        //    trie numbered them pattern by pattern).
        var number = [UInt32](repeating: 0, count: count)
        for (position, state) in queue.enumerated() {
            number[state] = UInt32(position + 1) | (outputs[state].isEmpty ? 0 : KeywordAutomaton.matchFlag)
        }
        let order = [0] + queue
        var root = [UInt32](repeating: 0, count: 256)
        for (byte, target) in children[0] { root[Int(byte)] = number[Int(target)] }
        var transitionStart = [UInt32](repeating: 0, count: count + 1)
        var bytes: [UInt8] = [], targets: [UInt32] = []
        var outputStart = [UInt32](repeating: 0, count: count + 1)
        var flatOutputs: [UInt32] = []
        var renumberedFail = [UInt32](repeating: 0, count: count)
        for (new, state) in order.enumerated() {
            transitionStart[new] = UInt32(bytes.count)
            if state != 0 {
                for (byte, target) in children[state] { bytes.append(byte); targets.append(number[Int(target)]) }
            }
            outputStart[new] = UInt32(flatOutputs.count)
            flatOutputs += outputs[state]
            renumberedFail[new] = number[Int(fail[state])]
        }
        fail = renumberedFail
        transitionStart[count] = UInt32(bytes.count)
        outputStart[count] = UInt32(flatOutputs.count)
        let filter = Self.prefilter(patterns)
        return KeywordAutomaton(root: root, transitionStart: transitionStart, transitionBytes: bytes, transitionTargets: targets,
                                fail: fail, outputStart: outputStart, outputs: flatOutputs,
                                patternLengths: patterns.map { UInt32($0.count) }, filter: filter.bits, window: filter.window,
                                filterShift: filter.shift, shortLengths: filter.shortLengths, shortFilters: filter.shortBits,
                                shortShifts: filter.shortShifts,
                                boundaryOnly: patterns.allSatisfy { $0[0] < 0x80 || $0[0] >= 0xC0 })
    }

    /// The prefilter of ``KeywordAutomaton``. The window is the longest of 3…8 bytes that at least
    /// 95% of the patterns reach (two Chinese characters for typical keyword lists); patterns reaching
    /// it go into one bitset by a hash of their first `window` bytes, the few shorter ones into one
    /// bitset per length. About 256 bits per pattern (capped at 2 MB; 32 KB for 1,000 keywords, in L1)
    /// keep false hits near 0.4% per position, so a message without a keyword is rejected after one
    /// pass of loads and bit tests (1,024 bits measured no faster: the loop is bound by its steps).
    static func prefilter(_ patterns: [[UInt8]])
        -> (bits: [UInt64], window: Int, shift: UInt64, shortLengths: [Int], shortBits: [[UInt64]], shortShifts: [UInt64]) {
        let lengths = patterns.map(\.count).sorted()
        guard !lengths.isEmpty else { return ([], 0, 0, [], [], []) }
        let window = min(8, lengths[lengths.count / 20])  // the 5th percentile
        guard window >= 3 else { return ([], 0, 0, [], [], []) }
        func bitset(_ members: [[UInt8]], _ length: Int) -> ([UInt64], UInt64) {
            var log2 = 12
            while (1 << log2) < members.count * 256, log2 < 24 { log2 += 1 }
            var bits = [UInt64](repeating: 0, count: (1 << log2) / 64)
            let shift = UInt64(64 - log2)
            for pattern in members {
                var v: UInt64 = 0
                for k in 0..<length { v |= UInt64(pattern[k]) << UInt64(k * 8) }
                let h = (v &* 0x9E37_79B9_7F4A_7C15) >> shift
                bits[Int(h >> 6)] |= 1 << (h & 63)
            }
            return (bits, shift)
        }
        let (bits, shift) = bitset(patterns.filter { $0.count >= window }, window)
        var shortLengths: [Int] = [], shortBits: [[UInt64]] = [], shortShifts: [UInt64] = []
        for length in 1..<window {
            let members = patterns.filter { $0.count == length }
            guard !members.isEmpty else { continue }
            let (b, s) = bitset(members, length)
            shortLengths.append(length); shortBits.append(b); shortShifts.append(s)
        }
        return (bits, window, shift, shortLengths, shortBits, shortShifts)
    }

    private static func child(_ row: [(byte: UInt8, target: UInt32)], _ byte: UInt8) -> UInt32? {
        for entry in row where entry.byte == byte { return entry.target }
        return nil
    }
}
