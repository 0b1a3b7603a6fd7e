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
        // 3. Freeze: dense root row, sparse rows elsewhere, flat outputs.
        var root = [UInt32](repeating: 0, count: 256)
        for (byte, target) in children[0] { root[Int(byte)] = target }
        var transitionStart = [UInt32](repeating: 0, count: count + 1)
        var bytes: [UInt8] = [], targets: [UInt32] = []
        var outputStart = [UInt32](repeating: 0, count: count + 1)
        var flatOutputs: [UInt32] = []
        for state in 0..<count {
            transitionStart[state] = UInt32(bytes.count)
            if state != 0 {
                for (byte, target) in children[state] { bytes.append(byte); targets.append(target) }
            }
            outputStart[state] = UInt32(flatOutputs.count)
            flatOutputs += outputs[state]
        }
        transitionStart[count] = UInt32(bytes.count)
        outputStart[count] = UInt32(flatOutputs.count)
        return KeywordAutomaton(root: root, transitionStart: transitionStart, transitionBytes: bytes, transitionTargets: targets,
                                fail: fail, outputStart: outputStart, outputs: flatOutputs,
                                patternLengths: patterns.map { UInt32($0.count) })
    }

    private static func child(_ row: [(byte: UInt8, target: UInt32)], _ byte: UInt8) -> UInt32? {
        for entry in row where entry.byte == byte { return entry.target }
        return nil
    }
}
