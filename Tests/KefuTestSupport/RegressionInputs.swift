import Foundation
import Synchronization

/// The files of Fuzz/regressions/<target>/, and a run bounded by a count of reference tasks.
public enum RegressionInputs {
    public static let root = TestSupport.root.appendingPathComponent("Fuzz/regressions")

    public static func files(_ target: String) throws -> [(name: String, bytes: [UInt8])] {
        let folder = root.appendingPathComponent(target)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }.sorted()
        return try names.map { ($0, Array(try Data(contentsOf: folder.appendingPathComponent($0)))) }
    }

    public enum Outcome<Value: Sendable>: Sendable {
        case finished(Value, references: Int)
        case overBudget
    }

    public final class Slot<Value: Sendable>: Sendable {
        public let done = Atomic<Bool>(false)
        public let value = Mutex<Value?>(nil)
        public init() {}
    }

    /// Runs `work` on a thread of its own while this thread repeats `reference`; gives up (leaving the
    /// thread to finish or spin on its own) once `budget` references are done. A bound counted in work,
    /// not seconds: a loaded machine slows both threads alike.
    public static func run<Value: Sendable>(budget: Int, reference: () -> Void, _ work: @escaping @Sendable () -> Value) -> Outcome<Value> {
        let slot = Slot<Value>()
        let thread = Thread {
            let value = work()
            slot.value.withLock { $0 = value }
            slot.done.store(true, ordering: .releasing)
        }
        thread.stackSize = 8 << 20
        thread.start()
        var references = 0
        while !slot.done.load(ordering: .acquiring) {
            if references >= budget { return .overBudget }
            reference()
            references += 1
        }
        return .finished(slot.value.withLock { $0! }, references: references)
    }
}
