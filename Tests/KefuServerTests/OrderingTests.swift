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

    @Test("a key's work runs once for every caller that arrives while it runs; afterwards the store answers")
    func deduplication() async {
        let dedup = Deduplicator<Int>()
        let runs = Log()
        let (gate, open) = AsyncStream<Void>.makeStream()
        let first = Task { await dedup.run("k") { runs.add("run"); for await _ in gate { break }; return 42 } }
        while runs.all.isEmpty { await Task.yield() }
        let retries = (0..<4).map { _ in Task { await dedup.run("k") { runs.add("run"); return 7 } } }
        while await dedup.waiting != 4 { await Task.yield() }
        open.yield()
        #expect(await first.value == (42, false))
        for retry in retries { #expect(await retry.value == (42, true)) }
        #expect(runs.all.count == 1)
        #expect(await dedup.inFlight == 0, "nothing is kept once the work is done")
        let later = await dedup.run("k") { 7 }
        #expect(later.value == 7 && !later.duplicate, "a later delivery runs again: the store, not this memory, has the answer")
    }
}

@Suite("Replay guard")
struct ReplayGuardTests {
    @Test("a query is new once, a retry with the same message, a forgery with another; forgotten after the window")
    func verdicts() {
        let guardian = ReplayGuard(window: 60, maxEntries: 1_000)
        let q = ReplayGuard.queryText(signature: "abc", timestamp: "100", nonce: "n1")
        #expect(guardian.check(query: q, messageKey: "m1", now: 100) == .new)
        #expect(guardian.check(query: q, messageKey: "m1", now: 110) == .retry)
        #expect(guardian.check(query: q, messageKey: "m2", now: 120) == .forgery)
        #expect(guardian.check(query: ReplayGuard.queryText(signature: "abc", timestamp: "100", nonce: "n2"), messageKey: "m2", now: 120) == .new)
        #expect(guardian.expire(now: 300) == 2 && guardian.count == 0)
        #expect(guardian.check(query: q, messageKey: "m2", now: 300) == .new, "after the window only freshness protects: the window must be longer")
    }

    @Test("warmed from the store after a restart")
    func warmUp() {
        let guardian = ReplayGuard(window: 60, maxEntries: 1_000)
        guardian.warmUp([(query: "s|1|n", messageKey: "m1", time: 100)])
        #expect(guardian.check(query: "s|1|n", messageKey: "m9", now: 120) == .forgery)
    }
}
