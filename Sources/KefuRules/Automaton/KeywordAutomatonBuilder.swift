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

    /// The pattern cut into the scanner's symbols (whole UTF-8 characters, else single bytes), or
    /// nil when a text could cut an occurrence differently: the pattern starts with a continuation
    /// byte, or ends inside a character (its last lead byte lacks continuation bytes that a text
    /// could supply). Only then does every occurrence in any text start at one of the text's
    /// symbol boundaries and consist of the same symbols.
    static func characters(_ pattern: [UInt8]) -> [UInt32]? {
        guard let first = pattern.first, first & 0xC0 != 0x80 else { return nil }
        var symbols: [UInt32] = []
        symbols.reserveCapacity(pattern.count)
        return pattern.withUnsafeBufferPointer { p -> [UInt32]? in
            let base = p.baseAddress!
            var i = 0
            while i < p.count {
                let b0 = p[i]
                if b0 >= 0xC0 {
                    let length = Int((0x4322 as UInt32) >> (UInt32(b0 >> 4 & 3) << 2) & 0xF)
                    var k = 1
                    while k < length, i + k < p.count, p[i + k] & 0xC0 == 0x80 { k += 1 }
                    if k < length, i + k == p.count { return nil }  // cut short by the end: undecided
                }
                let (symbol, length) = KeywordAutomaton.Scanner.symbol(base, i, p.count)
                symbols.append(symbol)
                i += length
            }
            return symbols
        }
    }

    public func build() -> KeywordAutomaton {
        // 0. Symbols: characters when every pattern allows it, else bytes.
        var symbols: [[UInt32]] = []
        symbols.reserveCapacity(patterns.count)
        for pattern in patterns {
            guard let s = Self.characters(pattern) else { symbols = []; break }
            symbols.append(s)
        }
        let characters = symbols.count == patterns.count && !patterns.isEmpty
        if !characters { symbols = patterns.map { $0.map(UInt32.init) } }

        // 1. The trie: children found through one dictionary keyed by (state, symbol); each state's
        //    children as a linked list (first child, next sibling) in insertion order.
        var child: [UInt64: UInt32] = [:]
        child.reserveCapacity(patterns.reduce(0) { $0 + $1.count })
        var symbolOf: [UInt32] = [0], firstChild: [UInt32] = [0], nextSibling: [UInt32] = [0], lastChild: [UInt32] = [0]
        var own: [Int32] = [-1]  // the pattern ending exactly here
        for (id, pattern) in symbols.enumerated() {
            var state: UInt32 = 0
            for symbol in pattern {
                let key = UInt64(state) << 32 | UInt64(symbol)
                if let next = child[key] { state = next; continue }
                let next = UInt32(symbolOf.count)
                child[key] = next
                symbolOf.append(symbol); firstChild.append(0); nextSibling.append(0); lastChild.append(0); own.append(-1)
                if firstChild[Int(state)] == 0 { firstChild[Int(state)] = next } else { nextSibling[Int(lastChild[Int(state)])] = next }
                lastChild[Int(state)] = next
                state = next
            }
            own[Int(state)] = Int32(id)
        }
        let count = symbolOf.count

        // 2. Failure links and output lists, breadth first so a state's failure is done before it.
        var fail = [UInt32](repeating: 0, count: count)
        var outputStart = [Int](repeating: 0, count: count), outputCount = [Int](repeating: 0, count: count)
        var outputs: [UInt32] = []
        var queue: [UInt32] = []
        queue.reserveCapacity(count)
        var c = firstChild[0]
        while c != 0 { queue.append(c); c = nextSibling[Int(c)] }
        var head = 0
        while head < queue.count {
            let state = Int(queue[head])
            head += 1
            outputStart[state] = outputs.count
            if own[state] >= 0 { outputs.append(UInt32(own[state])) }
            let f = Int(fail[state])
            for k in outputStart[f]..<(outputStart[f] + outputCount[f]) { outputs.append(outputs[k]) }
            outputCount[state] = outputs.count - outputStart[state]
            var t = firstChild[state]
            while t != 0 {
                let symbol = UInt64(symbolOf[Int(t)])
                var g = UInt32(f)
                var target: UInt32 = 0
                while true {
                    if let next = child[UInt64(g) << 32 | symbol] { target = next; break }
                    if g == 0 { break }
                    g = fail[Int(g)]
                }
                fail[Int(t)] = target == t ? 0 : target
                queue.append(t)
                t = nextSibling[Int(t)]
            }
        }

        // 3. Freeze: one record per state in one array, breadth first, so the shallow states every
        //    scan visits sit together in memory. A state's reference is its record's offset.
        let limit = KeywordAutomaton.linearRowLimit
        func childCount(_ state: Int) -> Int {
            var n = 0, t = firstChild[state]
            while t != 0 { n += 1; t = nextSibling[Int(t)] }
            return n
        }
        func log2Slots(_ n: Int) -> Int {
            var log2 = 1
            while (1 << log2) < 2 * n { log2 += 1 }
            return log2
        }
        var rowCount = [Int](repeating: 0, count: count)
        var offset = [UInt32](repeating: 0, count: count)
        var rootMultiByte = 0
        do {
            var t = firstChild[0]
            while t != 0 { if symbolOf[Int(t)] >= 256 { rootMultiByte += 1 }; t = nextSibling[Int(t)] }
        }
        let rootLog2 = log2Slots(rootMultiByte)
        var size = 2 + (2 << rootLog2)  // the root's record: hashed row of its multi-byte symbols
        for state in queue {
            let s = Int(state)
            let n = childCount(s)
            rowCount[s] = n
            offset[s] = UInt32(size)
            size += 2 + (n > limit ? 2 << log2Slots(n) : 2 * n) + (outputCount[s] > 0 ? 1 + outputCount[s] : 0)
        }
        precondition(size < Int(KeywordAutomaton.hashedRow), "keyword automaton too large")
        func reference(_ state: Int) -> UInt32 {
            state == 0 ? 0 : offset[state] | (outputCount[state] > 0 ? KeywordAutomaton.matchFlag : 0)
        }
        var nodes = [UInt32](repeating: 0, count: size)
        var root = [UInt32](repeating: 0, count: 256)
        func fillRow(_ state: Int, at o: Int, log2: Int?) {
            var t = firstChild[state], k = 0
            while t != 0 {
                let symbol = symbolOf[Int(t)]
                if state == 0, symbol < 256 {
                    root[Int(symbol)] = reference(Int(t))
                } else if let log2 {
                    var j = KeywordAutomaton.Scanner.slot(symbol, UInt32(log2))
                    while nodes[o + 2 * j + 1] != 0 { j = (j + 1) & ((1 << log2) - 1) }
                    nodes[o + 2 * j] = symbol
                    nodes[o + 2 * j + 1] = reference(Int(t))
                } else {
                    nodes[o + 2 * k] = symbol
                    nodes[o + 2 * k + 1] = reference(Int(t))
                    k += 1
                }
                t = nextSibling[Int(t)]
            }
        }
        nodes[1] = KeywordAutomaton.hashedRow | UInt32(rootLog2)
        fillRow(0, at: 2, log2: rootLog2)
        for state in queue {
            let s = Int(state)
            let o = Int(offset[s])
            let n = rowCount[s]
            nodes[o] = reference(Int(fail[s]))
            var rowWords = 2 * n
            if n > limit {
                let log2 = log2Slots(n)
                nodes[o + 1] = KeywordAutomaton.hashedRow | UInt32(log2)
                fillRow(s, at: o + 2, log2: log2)
                rowWords = 2 << log2
            } else {
                nodes[o + 1] = UInt32(n)
                fillRow(s, at: o + 2, log2: nil)
            }
            if outputCount[s] > 0 {
                let p = o + 2 + rowWords
                nodes[p] = UInt32(outputCount[s])
                for k in 0..<outputCount[s] { nodes[p + 1 + k] = outputs[outputStart[s] + k] }
            }
        }
        let filter = Self.prefilter(patterns)
        return KeywordAutomaton(root: root, nodes: nodes, stateCount: count, characters: characters,
                                patternLengths: patterns.map { UInt32($0.count) }, filter: filter.bits, window: filter.window,
                                filterMask: filter.mask, shortLengths: filter.shortLengths, shortFilters: filter.shortBits,
                                shortMasks: filter.shortMasks,
                                boundaryOnly: patterns.allSatisfy { $0[0] < 0x80 || $0[0] >= 0xC0 })
    }

    /// The prefilter of ``KeywordAutomaton``. The window is the longest of 3…8 bytes that at least
    /// 95% of the patterns reach (two Chinese characters for typical keyword lists); patterns reaching
    /// it go into one bitset by a hash of their first `window` bytes, the few shorter ones into one
    /// bitset per length. About 256 bits per pattern (capped at 2 MB; 32 KB for 1,000 keywords, in L1)
    /// keep false hits near 0.4% per position, so a message without a keyword is rejected after one
    /// pass of loads and bit tests.
    static func prefilter(_ patterns: [[UInt8]])
        -> (bits: [UInt64], window: Int, mask: UInt64, shortLengths: [Int], shortBits: [[UInt64]], shortMasks: [UInt64]) {
        let lengths = patterns.map(\.count).sorted()
        guard !lengths.isEmpty else { return ([], 0, 0, [], [], []) }
        let window = min(8, lengths[lengths.count / 20])  // the 5th percentile
        guard window >= 3 else { return ([], 0, 0, [], [], []) }
        func bitset(_ members: [[UInt8]], _ length: Int) -> ([UInt64], UInt64) {
            var log2 = 12
            while (1 << log2) < members.count * 256, log2 < 24 { log2 += 1 }
            var bits = [UInt64](repeating: 0, count: (1 << log2) / 64)
            let mask = UInt64(1 << log2) - 1
            for pattern in members {
                var v: UInt64 = 0
                for k in 0..<length { v |= UInt64(pattern[k]) << UInt64(k * 8) }
                let h = KeywordAutomaton.Scanner.hash(v, length: length, mask: mask)
                bits[Int(h >> 6)] |= 1 << (h & 63)
            }
            return (bits, mask)
        }
        let (bits, mask) = bitset(patterns.filter { $0.count >= window }, window)
        var shortLengths: [Int] = [], shortBits: [[UInt64]] = [], shortMasks: [UInt64] = []
        for length in 1..<window {
            let members = patterns.filter { $0.count == length }
            guard !members.isEmpty else { continue }
            let (b, s) = bitset(members, length)
            shortLengths.append(length); shortBits.append(b); shortMasks.append(s)
        }
        return (bits, window, mask, shortLengths, shortBits, shortMasks)
    }
}
