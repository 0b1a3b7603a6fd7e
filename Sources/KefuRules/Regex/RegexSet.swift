import Synchronization

/// All regexes of a rule set read together (issue 17): one pass over a message says which of them
/// *may* match, and PCRE2 then runs only on those, for the exact answer and the captures.
///
/// Each pattern's superset (``RegexSuperset``) becomes a Thompson NFA over bytes (UTF-8 sequences
/// for characters beyond ASCII); the NFAs of all patterns share one start, restarted at every byte.
/// A DFA is built from it lazily, one state per set of NFA states actually met, and its states are
/// cached (``RegexSetCache``) up to a memory cap; when the cap is reached the cache starts over, and
/// a message that fills it more than twice is given up (the caller then runs the old path for it).
final class RegexSet: @unchecked Sendable {
    let nfa: RegexNFA
    /// How many patterns the set holds (pattern ids are 0..<count).
    let count: Int
    private let slots: [Slot]

    /// Per-thread-ish caches: a scan takes the first free one, so tasks matching at the same time
    /// do not wait for each other (each cache warms up on its own).
    final class Slot: @unchecked Sendable {
        let cache: Mutex<RegexSetCache>
        init(_ nfa: RegexNFA, capacityBytes: Int) { cache = Mutex(RegexSetCache(nfa, capacityBytes: capacityBytes)) }
    }

    init(nfa: RegexNFA, count: Int, slots: Int = 2, capacityBytes: Int = 64 << 20) {
        self.nfa = nfa
        self.count = count
        self.slots = (0..<max(1, slots)).map { _ in Slot(nfa, capacityBytes: capacityBytes) }
    }

    /// Appends to `found` every pattern that may match `text` (repeats possible); false if the
    /// scan gave up (then `found` is incomplete and the caller must not rely on it).
    func propose(_ text: UnsafeBufferPointer<UInt8>, into found: inout [Int32]) -> Bool {
        for pattern in nfa.alwaysMatch { found.append(pattern) }
        for slot in slots {
            if let done = slot.cache.withLockIfAvailable({ $0.scan(text, into: &found) }) { return done }
        }
        return slots[0].cache.withLock { $0.scan(text, into: &found) }
    }

    struct Statistics: Sendable, Equatable {
        var states = 0, memoryBytes = 0, resets = 0, giveUps = 0, scans = 0, bytes = 0
    }

    /// The caches' figures, summed (for the benchmark and tests).
    var statistics: Statistics {
        var total = Statistics()
        for slot in slots {
            slot.cache.withLock { cache in
                total.states += cache.stateCount
                total.memoryBytes += cache.memoryBytes
                total.resets += cache.resets
                total.giveUps += cache.giveUps
                total.scans += cache.scans
                total.bytes += cache.bytesScanned
            }
        }
        return total
    }
}

/// The NFA of a set of patterns, frozen. States are numbered; each has a kind:
/// consume (edges: byte ranges to targets), split (two epsilon targets), match (a pattern),
/// begin (an epsilon taken only at the start of the text), endAssert (a pattern matches at the end
/// of the text; on a newline it moves to an endOnly state, which matches only at the end).
final class RegexNFA: @unchecked Sendable {
    static let consume: UInt8 = 0, split: UInt8 = 1, match: UInt8 = 2, begin: UInt8 = 3, endAssert: UInt8 = 4, endOnly: UInt8 = 5

    let kind: [UInt8]
    let a: [Int32]
    let b: [Int32]
    let edgeLow: [UInt8]
    let edgeHigh: [UInt8]
    let edgeTarget: [Int32]
    let starts: [Int32]
    /// Byte → its equivalence class (bytes no edge tells apart share a class).
    let classOf: [UInt8]
    let classCount: Int
    let classRepresentative: [UInt8]
    /// Whether a state is reached from the starts without reading anything: such states are in
    /// every DFA state, so DFA states leave them out (``restartStep`` stands in for them).
    let inRestart: [Bool]
    /// For each class: the kept states that the restart states lead to on a byte of that class.
    let restartStep: [[Int32]]
    /// The kept states reached from the starts at the very start of the text (past `^`), beyond the restart ones.
    let initial: [Int32]
    /// Patterns that match the empty text (proposed for every message), and those that match at the end of any text.
    let alwaysMatch: [Int32]

    init(_ builder: RegexNFABuilder) {
        kind = builder.kind; a = builder.a; b = builder.b
        edgeLow = builder.edgeLow; edgeHigh = builder.edgeHigh; edgeTarget = builder.edgeTarget
        starts = builder.starts
        // Byte classes: bytes that every edge range takes or leaves alike share a class (refined one
        // distinct range at a time, so classes need not be contiguous: fewer of them, smaller rows).
        var ranges = Set<UInt16>()
        for e in builder.edgeLow.indices { ranges.insert(UInt16(builder.edgeLow[e]) << 8 | UInt16(builder.edgeHigh[e])) }
        ranges.insert(0x0A0A)  // the newline is its own class (end assertions)
        var id = [Int](repeating: 0, count: 256)
        var nextID = 1
        var fresh: [Int: Int] = [:]
        for range in ranges.sorted() {
            fresh.removeAll(keepingCapacity: true)
            for byte in Int(range >> 8)...Int(range & 0xFF) {
                if let known = fresh[id[byte]] { id[byte] = known } else { fresh[id[byte]] = nextID; id[byte] = nextID; nextID += 1 }
            }
        }
        var classOf = [UInt8](repeating: 0, count: 256)
        var representative: [UInt8] = []
        var compact: [Int: Int] = [:]
        for byte in 0..<256 {
            if let known = compact[id[byte]] {
                classOf[byte] = UInt8(known)
            } else {
                compact[id[byte]] = representative.count
                classOf[byte] = UInt8(representative.count)
                representative.append(UInt8(byte))
            }
        }
        self.classOf = classOf
        classCount = representative.count
        classRepresentative = representative

        var closure = Closure(count: builder.kind.count)
        var restart = [Bool](repeating: false, count: builder.kind.count)
        var kept: [Int32] = []
        closure.run(starts: builder.starts, kind: builder.kind, a: builder.a, b: builder.b, atStart: false, inRestart: nil, into: &kept)
        for q in closure.visited { restart[Int(q)] = true }
        inRestart = restart
        var always: Set<Int32> = []
        for q in kept where builder.kind[Int(q)] != RegexNFA.consume { always.insert(builder.a[Int(q)]) }  // matches, ends
        alwaysMatch = always.sorted()
        var initial: [Int32] = []
        closure.run(starts: builder.starts, kind: builder.kind, a: builder.a, b: builder.b, atStart: true, inRestart: restart, into: &initial)
        self.initial = initial.sorted()
        var steps: [[Int32]] = []
        for c in 0..<classCount {
            let byte = representative[c]
            var next: [Int32] = [], targets: [Int32] = []
            for q in kept {
                let k = builder.kind[Int(q)]
                if k == RegexNFA.consume {
                    let start = Int(builder.a[Int(q)]), end = start + Int(builder.b[Int(q)])
                    for e in start..<end where builder.edgeLow[e] <= byte && byte <= builder.edgeHigh[e] { targets.append(builder.edgeTarget[e]) }
                } else if k == RegexNFA.endAssert, byte == 0x0A {
                    targets.append(builder.b[Int(q)])
                }
            }
            closure.run(starts: targets, kind: builder.kind, a: builder.a, b: builder.b, atStart: false, inRestart: restart, into: &next)
            steps.append(next.sorted())
        }
        restartStep = steps
    }

    /// Epsilon closure with a reusable visited mark.
    struct Closure {
        var mark: [UInt32]
        var generation: UInt32 = 0
        var stack: [Int32] = []
        var visited: [Int32] = []

        init(count: Int) { mark = [UInt32](repeating: 0, count: count) }

        /// Adds to `out` the kept states (consume, match, end) reached from `starts`, leaving out those in `inRestart`.
        mutating func run(starts: [Int32], kind: [UInt8], a: [Int32], b: [Int32], atStart: Bool, inRestart: [Bool]?, into out: inout [Int32]) {
            generation &+= 1
            if generation == 0 { for i in mark.indices { mark[i] = 0 }; generation = 1 }
            visited.removeAll(keepingCapacity: true)
            for s in starts.reversed() { stack.append(s) }
            while let q = stack.popLast() {
                let i = Int(q)
                if mark[i] == generation { continue }
                mark[i] = generation
                visited.append(q)
                switch kind[i] {
                case RegexNFA.split:
                    if b[i] >= 0 { stack.append(b[i]) }
                    stack.append(a[i])
                case RegexNFA.begin:
                    if atStart { stack.append(a[i]) }
                default:
                    if inRestart?[i] != true { out.append(q) }
                }
            }
        }
    }
}

/// Builds the NFA of a set of supersets, one pattern at a time.
struct RegexNFABuilder {
    var kind: [UInt8] = []
    var a: [Int32] = []
    var b: [Int32] = []
    var edgeLow: [UInt8] = []
    var edgeHigh: [UInt8] = []
    var edgeTarget: [Int32] = []
    var starts: [Int32] = []
    private var continuations: [Int32: Int32] = [:]
    private var limit = 0
    private var tooLarge = false

    var stateCount: Int { kind.count }

    /// Adds a pattern (its id is the number of patterns added before). False, and nothing added,
    /// when it would take more than `maxStates` states.
    mutating func add(_ node: RegexSuperset.Node, maxStates: Int = 20_000) -> Bool {
        let (states, edges) = (kind.count, edgeLow.count)
        continuations = [:]
        limit = states + maxStates
        tooLarge = false
        let pattern = Int32(starts.count)
        let match = newState(RegexNFA.match, pattern, 0)
        let start = compile(node, next: match, pattern: pattern)
        if tooLarge {
            kind.removeLast(kind.count - states); a.removeLast(a.count - states); b.removeLast(b.count - states)
            edgeLow.removeLast(edgeLow.count - edges); edgeHigh.removeLast(edgeHigh.count - edges); edgeTarget.removeLast(edgeTarget.count - edges)
            return false
        }
        starts.append(start)
        return true
    }

    private mutating func newState(_ k: UInt8, _ x: Int32, _ y: Int32) -> Int32 {
        kind.append(k); a.append(x); b.append(y)
        if kind.count > limit { tooLarge = true }
        return Int32(kind.count - 1)
    }

    private mutating func consume(_ edges: [(UInt8, UInt8, Int32)]) -> Int32 {
        let first = Int32(edgeLow.count)
        for (low, high, target) in edges { edgeLow.append(low); edgeHigh.append(high); edgeTarget.append(target) }
        return newState(RegexNFA.consume, first, Int32(edges.count))
    }

    private mutating func split(_ x: Int32, _ y: Int32) -> Int32 { newState(RegexNFA.split, x, y) }

    private mutating func compile(_ node: RegexSuperset.Node, next: Int32, pattern: Int32) -> Int32 {
        if tooLarge { return next }
        switch node {
        case .empty, .dollar: return next
        case .set(let set): return compileSet(set, next: next)
        case .anyByte: return consume([(0, 255, next)])
        case .concat(let items):
            var t = next
            for item in items.reversed() { t = compile(item, next: t, pattern: pattern) }
            return t
        case .alt(let branches):
            var t = compile(branches[branches.count - 1], next: next, pattern: pattern)
            for branch in branches.dropLast().reversed() { t = split(compile(branch, next: next, pattern: pattern), t) }
            return t
        case .rep(let inner, let min, let max):
            var t = next
            if let max {
                for _ in 0..<(max - min) {
                    t = split(compile(inner, next: t, pattern: pattern), next)
                    if tooLarge { return next }
                }
            } else {
                let loop = split(-1, next)
                let body = compile(inner, next: loop, pattern: pattern)
                a[Int(loop)] = body
                t = loop
            }
            for _ in 0..<min {
                t = compile(inner, next: t, pattern: pattern)
                if tooLarge { return next }
            }
            return t
        case .begin: return newState(RegexNFA.begin, next, 0)
        case .end:
            let only = newState(RegexNFA.endOnly, pattern, 0)
            return newState(RegexNFA.endAssert, pattern, only)
        }
    }

    /// One character of `set`, then `next`.
    private mutating func compileSet(_ set: ScalarSet, next: Int32) -> Int32 {
        var edges: [(UInt8, UInt8, Int32)] = []
        var byte = 0
        while byte < 128 {
            guard set.containsASCII(UInt8(byte)) else { byte += 1; continue }
            let first = byte
            while byte < 128, set.containsASCII(UInt8(byte)) { byte += 1 }
            edges.append((UInt8(first), UInt8(byte - 1), next))
        }
        if set.anyNonASCII {
            let c1: Int32
            if let known = continuations[next] { c1 = known } else { c1 = consume([(0x80, 0xBF, next)]); continuations[next] = c1 }
            let c2: Int32
            if let known = continuations[-2 - c1] { c2 = known } else { c2 = consume([(0x80, 0xBF, c1)]); continuations[-2 - c1] = c2 }
            let c3: Int32
            if let known = continuations[-2 - c2] { c3 = known } else { c3 = consume([(0x80, 0xBF, c2)]); continuations[-2 - c2] = c3 }
            edges += [(0xC2, 0xDF, c1), (0xE0, 0xEF, c2), (0xF0, 0xF4, c3)]
        } else if !set.ranges.isEmpty {
            var chains: [UInt64: Int32] = [:]
            var sequences: [[(UInt8, UInt8)]] = []
            for range in set.ranges { UTF8Ranges.sequences(range.lowerBound, range.upperBound, into: &sequences) }
            for sequence in sequences {
                var t = next
                for k in stride(from: sequence.count - 1, to: 0, by: -1) {
                    let (low, high) = sequence[k]
                    let key = UInt64(low) << 48 | UInt64(high) << 40 | UInt64(UInt32(bitPattern: t))
                    if let known = chains[key] { t = known } else { let s = consume([(low, high, t)]); chains[key] = s; t = s }
                }
                edges.append((sequence[0].0, sequence[0].1, t))
            }
        }
        return consume(edges)
    }
}

/// Scalar ranges as UTF-8: each range becomes a few byte-range sequences.
enum UTF8Ranges {
    static func encode(_ v: UInt32) -> [UInt8] {
        switch v {
        case ..<0x80: return [UInt8(v)]
        case ..<0x800: return [UInt8(0xC0 | v >> 6), UInt8(0x80 | v & 0x3F)]
        case ..<0x10000: return [UInt8(0xE0 | v >> 12), UInt8(0x80 | v >> 6 & 0x3F), UInt8(0x80 | v & 0x3F)]
        default: return [UInt8(0xF0 | v >> 18), UInt8(0x80 | v >> 12 & 0x3F), UInt8(0x80 | v >> 6 & 0x3F), UInt8(0x80 | v & 0x3F)]
        }
    }

    static func sequences(_ low: UInt32, _ high: UInt32, into out: inout [[(UInt8, UInt8)]]) {
        guard low <= high else { return }
        for boundary: UInt32 in [0x7F, 0x7FF, 0xFFFF] where low <= boundary && high > boundary {
            sequences(low, boundary, into: &out)
            sequences(boundary + 1, high, into: &out)
            return
        }
        let length = encode(low).count
        for i in 1..<max(length, 1) {
            let m: UInt32 = (1 << (6 * UInt32(i))) - 1
            if low & ~m != high & ~m {
                if low & m != 0 {
                    sequences(low, low | m, into: &out)
                    sequences((low | m) + 1, high, into: &out)
                    return
                }
                if high & m != m {
                    sequences(low, (high & ~m) - 1, into: &out)
                    sequences(high & ~m, high, into: &out)
                    return
                }
            }
        }
        let l = encode(low), h = encode(high)
        out.append(Array(zip(l, h)))
    }
}

/// One lazily built DFA over a ``RegexNFA``: its states (sorted sets of NFA states), their rows of
/// transitions by byte class, and the patterns each state reports. Not thread-safe (``RegexSet``
/// guards each with a mutex).
final class RegexSetCache: @unchecked Sendable {
    let nfa: RegexNFA
    let stride: Int
    let capacityBytes: Int
    private let classOf: UnsafeMutablePointer<UInt8>
    /// Rows of `stride` entries: (state << 1 | reports-a-match), or `unknown`.
    private var table: UnsafeMutablePointer<Entry>
    private var tableCapacity: Int  // entries
    /// 16-bit entries: half the memory the scan waits on; at most `maxStates` states per cache.
    typealias Entry = UInt16
    static let unknown = Entry.max
    static let maxStates = Int(Entry.max >> 1)

    private(set) var stateCount = 0
    private var keyStart: [Int32] = [0]
    private var keyData: [Int32] = []
    private var matchStart: [Int32] = [0]
    private var matchData: [Int32] = []
    private var endStart: [Int32] = [0]
    private var endData: [Int32] = []
    private var hashes: [UInt32] = []
    private var buckets: [Int32] = []
    private var closure: RegexNFA.Closure
    private var scratch: [Int32] = []
    private var targets: [Int32] = []
    private var epoch = 0

    private(set) var resets = 0
    private(set) var giveUps = 0
    private(set) var scans = 0
    private(set) var bytesScanned = 0

    init(_ nfa: RegexNFA, capacityBytes: Int) {
        self.nfa = nfa
        stride = nfa.classCount
        self.capacityBytes = capacityBytes
        classOf = .allocate(capacity: 256)
        for i in 0..<256 { classOf[i] = nfa.classOf[i] }
        tableCapacity = 0
        table = .allocate(capacity: 1)
        closure = RegexNFA.Closure(count: nfa.kind.count)
    }

    deinit {
        table.deallocate()
        classOf.deallocate()
    }

    var memoryBytes: Int {
        stateCount * (stride * 2 + 16) + (keyData.count + matchData.count + endData.count + buckets.count) * 4
    }

    private func clear() {
        stateCount = 0
        keyStart = [0]; keyData.removeAll(keepingCapacity: true)
        matchStart = [0]; matchData.removeAll(keepingCapacity: true)
        endStart = [0]; endData.removeAll(keepingCapacity: true)
        hashes.removeAll(keepingCapacity: true)
        for i in buckets.indices { buckets[i] = -1 }
        epoch += 1
    }

    /// The state for the sorted set `key`, made if new. Encoded as in the table.
    private func intern(_ key: [Int32], mayReset: Bool = true) -> Entry {
        var h: UInt32 = 2_166_136_261
        for q in key { h = (h ^ UInt32(bitPattern: q)) &* 16_777_619 }
        if buckets.count < 2 * (stateCount + 1) { rehash(max(64, buckets.count * 2)) }
        let mask = buckets.count - 1
        var slot = Int(h) & mask
        while buckets[slot] >= 0 {
            let s = Int(buckets[slot])
            if hashes[s] == h {
                let start = Int(keyStart[s]), end = Int(keyStart[s + 1])
                if end - start == key.count, keyData[start..<end].elementsEqual(key) { return encoded(s) }
            }
            slot = (slot + 1) & mask
        }
        if mayReset, stateCount > 0, stateCount >= RegexSetCache.maxStates || memoryBytes + stride * 2 + key.count * 4 > capacityBytes {
            clear()
            resets += 1
            _ = intern(nfa.initial, mayReset: false)
            return intern(key, mayReset: false)
        }
        let s = stateCount
        stateCount += 1
        keyData += key
        keyStart.append(Int32(keyData.count))
        for q in key {
            switch nfa.kind[Int(q)] {
            case RegexNFA.match: matchData.append(nfa.a[Int(q)])
            case RegexNFA.endAssert, RegexNFA.endOnly: endData.append(nfa.a[Int(q)])
            default: break
            }
        }
        matchStart.append(Int32(matchData.count))
        endStart.append(Int32(endData.count))
        hashes.append(h)
        buckets[slot] = Int32(s)
        if (s + 1) * stride > tableCapacity {
            let capacity = max(64 * stride, tableCapacity * 2)
            let grown = UnsafeMutablePointer<Entry>.allocate(capacity: capacity)
            grown.update(from: table, count: tableCapacity)
            table.deallocate()
            table = grown
            tableCapacity = capacity
        }
        (table + s * stride).initialize(repeating: RegexSetCache.unknown, count: stride)
        return encoded(s)
    }

    private func encoded(_ s: Int) -> Entry {
        Entry(s) << 1 | (matchStart[s + 1] > matchStart[s] ? 1 : 0)
    }

    private func rehash(_ size: Int) {
        buckets = [Int32](repeating: -1, count: size)
        let mask = size - 1
        for s in 0..<stateCount {
            var slot = Int(hashes[s]) & mask
            while buckets[slot] >= 0 { slot = (slot + 1) & mask }
            buckets[slot] = Int32(s)
        }
    }

    /// The transition of state `s` on byte class `c`, computed and stored.
    private func step(_ s: Int, _ c: Int) -> Entry {
        let byte = nfa.classRepresentative[c]
        targets.removeAll(keepingCapacity: true)
        for k in Int(keyStart[s])..<Int(keyStart[s + 1]) {
            let q = Int(keyData[k])
            switch nfa.kind[q] {
            case RegexNFA.consume:
                let start = Int(nfa.a[q]), end = start + Int(nfa.b[q])
                for e in start..<end where nfa.edgeLow[e] <= byte && byte <= nfa.edgeHigh[e] { targets.append(nfa.edgeTarget[e]) }
            case RegexNFA.endAssert where byte == 0x0A:
                targets.append(nfa.b[q])
            default:
                break
            }
        }
        scratch.removeAll(keepingCapacity: true)
        closure.run(starts: targets, kind: nfa.kind, a: nfa.a, b: nfa.b, atStart: false, inRestart: nfa.inRestart, into: &scratch)
        // the restart states' own step, without repeats
        for q in nfa.restartStep[c] where closure.mark[Int(q)] != closure.generation {
            closure.mark[Int(q)] = closure.generation
            scratch.append(q)
        }
        scratch.sort()
        let before = epoch
        let t = intern(scratch)
        if epoch == before { table[s * stride + c] = t }
        return t
    }

    @inline(__always) private func reportMatches(of s: Int, into found: inout [Int32]) {
        var k = Int(matchStart[s])
        let end = Int(matchStart[s + 1])
        while k < end { found.append(matchData[k]); k += 1 }
    }

    @inline(__always) private func reportEnds(of s: Int, into found: inout [Int32]) {
        var k = Int(endStart[s])
        let end = Int(endStart[s + 1])
        while k < end { found.append(endData[k]); k += 1 }
    }

    /// Appends the patterns that may match `text`; false if it gave up (the cache filled up more than twice).
    func scan(_ text: UnsafeBufferPointer<UInt8>, into found: inout [Int32]) -> Bool {
        scans += 1
        bytesScanned += text.count
        if stateCount == 0 { _ = intern(nfa.initial) }
        let resetsBefore = resets
        var s = 0
        var last = -1
        if matchStart[1] > matchStart[0] { reportMatches(of: 0, into: &found); last = 0 }
        var table = self.table
        let classOf = self.classOf
        let stride = self.stride
        var i = 0
        let count = text.count
        guard let bytes = text.baseAddress else { reportEnds(of: s, into: &found); return true }
        while i < count {
            let c = Int(classOf[Int(bytes[i])])
            var t = table[s &* stride &+ c]
            if t == RegexSetCache.unknown {
                t = step(s, c)
                if resets != resetsBefore {
                    if resets - resetsBefore > 2 { giveUps += 1; return false }
                    last = -1
                }
                table = self.table
            }
            s = Int(t >> 1)
            if t & 1 != 0, s != last {
                last = s
                reportMatches(of: s, into: &found)
            }
            i &+= 1
        }
        reportEnds(of: s, into: &found)
        return true
    }
}
