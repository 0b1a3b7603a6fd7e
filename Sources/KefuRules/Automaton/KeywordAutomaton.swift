/// A frozen multi-pattern matcher over bytes (see the folder's README for the layout).
/// Immutable and `Sendable`: one instance serves every task.
public struct KeywordAutomaton: Sendable {
    @usableFromInline let root: [UInt32]
    @usableFromInline let transitionStart: [UInt32]
    @usableFromInline let transitionBytes: [UInt8]
    @usableFromInline let transitionTargets: [UInt32]
    @usableFromInline let fail: [UInt32]
    @usableFromInline let outputStart: [UInt32]
    @usableFromInline let outputs: [UInt32]
    /// Byte length of each pattern, to turn a match's end into its start.
    public let patternLengths: [UInt32]

    public var stateCount: Int { fail.count }
    public var patternCount: Int { patternLengths.count }

    /// Bytes held by the automaton's arrays.
    public var memoryBytes: Int {
        root.count * 4 + transitionStart.count * 4 + transitionBytes.count + transitionTargets.count * 4
            + fail.count * 4 + outputStart.count * 4 + outputs.count * 4 + patternLengths.count * 4
    }

    /// Calls `body(pattern, end)` for every occurrence of every pattern (overlapping), in order of
    /// their end offset. `end` is exclusive; the start is `end - patternLengths[pattern]`.
    @inlinable
    public func forEachMatch(in text: UnsafeBufferPointer<UInt8>, _ body: (_ pattern: Int, _ end: Int) -> Void) {
        root.withUnsafeBufferPointer { root in
        transitionStart.withUnsafeBufferPointer { start in
        transitionBytes.withUnsafeBufferPointer { bytes in
        transitionTargets.withUnsafeBufferPointer { targets in
        fail.withUnsafeBufferPointer { fail in
        outputStart.withUnsafeBufferPointer { outputStart in
        outputs.withUnsafeBufferPointer { outputs in
            var state: UInt32 = 0
            for i in 0..<text.count {
                let byte = text[i]
                while true {
                    if state == 0 { state = root[Int(byte)]; break }
                    var next: UInt32 = 0
                    var k = Int(start[Int(state)])
                    let end = Int(start[Int(state) + 1])
                    while k < end {
                        if bytes[k] == byte { next = targets[k]; break }
                        k += 1
                    }
                    if next != 0 { state = next; break }
                    state = fail[Int(state)]
                }
                let from = Int(outputStart[Int(state)]), to = Int(outputStart[Int(state) + 1])
                if from != to {
                    for o in from..<to { body(Int(outputs[o]), i + 1) }
                }
            }
        }}}}}}}
    }

    /// Convenience for tests and tools: every (pattern, start, end).
    public func matches(in text: [UInt8]) -> [(pattern: Int, start: Int, end: Int)] {
        var found: [(Int, Int, Int)] = []
        text.withUnsafeBufferPointer { buffer in
            forEachMatch(in: buffer) { pattern, end in found.append((pattern, end - Int(patternLengths[pattern]), end)) }
        }
        return found
    }
}
