import Synchronization
import Testing
@testable import KefuServer

@Suite("Exactly once and in order")
struct OrderingTests {
    final class Log: Sendable {
        let entries = Mutex<[String]>([])
        func add(_ s: String) { entries.withLock { $0.append(s) } }
        var all: [String] { entries.withLock { $0 } }
    }

    @Test("one user's messages run one at a time, in arrival order; another user is not held up")
    func perUserOrder() async {
        let queue = UserQueue()
        let log = Log()
        let (gate, open) = AsyncStream<Void>.makeStream()
        // A's first message blocks until the gate opens.
        let first = Task { await queue.run(for: "A") { log.add("A1 start"); for await _ in gate { break }; log.add("A1 end") } }
        while log.all.isEmpty { await Task.yield() }
        let second = Task { await queue.run(for: "A") { log.add("A2") } }
        await queue.run(for: "B") { log.add("B1") }  // B does not wait for A
        #expect(log.all == ["A1 start", "B1"])
        open.yield()
        await first.value
        await second.value
        #expect(log.all == ["A1 start", "B1", "A1 end", "A2"])
        #expect(await queue.activeUsers == 0)
    }

    @Test("a key's work runs once; concurrent and later callers get its result")
    func deduplication() async {
        let dedup = Deduplicator<Int>(window: .seconds(60))
        let runs = Log()
        let results = await withTaskGroup(of: (Int, Bool).self) { group in
            for _ in 0..<5 {
                group.addTask {
                    await dedup.run("k") {
                        runs.add("run")
                        try? await Task.sleep(for: .milliseconds(50))
                        return 42
                    }
                }
            }
            var all: [(Int, Bool)] = []
            for await r in group { all.append(r) }
            return all
        }
        #expect(runs.all.count == 1)
        #expect(results.map(\.0) == Array(repeating: 42, count: 5))
        #expect(results.filter { !$0.1 }.count == 1, "exactly one caller ran it")
        let later = await dedup.run("k") { 7 }
        #expect(later.value == 42 && later.duplicate)
        #expect(await dedup.run("other") { 7 }.value == 7)
    }

    @Test("a remembered answer expires after the window")
    func expiry() async throws {
        let dedup = Deduplicator<Int>(window: .milliseconds(20))
        _ = await dedup.run("k") { 1 }
        try await Task.sleep(for: .milliseconds(40))
        #expect(await dedup.run("k") { 2 }.value == 2)
    }
}
