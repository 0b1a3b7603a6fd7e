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
        let lines = UserLines<Int>()
        let log = Log()
        let (gate, open) = AsyncStream<Void>.makeStream()
        // A's first message blocks until the gate opens.
        let first = Task { await lines.run(key: "A1", user: "A") { log.add("A1 start"); for await _ in gate { break }; log.add("A1 end"); return 1 } }
        while log.all.isEmpty { await Task.yield() }
        let second = Task { await lines.run(key: "A2", user: "A") { log.add("A2"); return 2 } }
        let third = Task { await lines.run(for: "A") { log.add("A hand-back"); return 3 } }
        while lines.inFlight != 2 { await Task.yield() }
        let b = await lines.run(key: "B1", user: "B") { log.add("B1"); return 4 }  // B does not wait for A
        #expect(b == (4, false))
        #expect(log.all == ["A1 start", "B1"])
        open.yield()
        #expect(await first.value == (1, false))
        #expect(await second.value == (2, false))
        #expect(await third.value == 3)
        #expect(log.all == ["A1 start", "B1", "A1 end", "A2", "A hand-back"])
        #expect(lines.activeUsers == 0 && lines.inFlight == 0, "nothing is kept once the line is empty")
    }

    @Test("a key's work runs once for every delivery that arrives while it is queued or runs; afterwards the store answers")
    func deduplication() async {
        let lines = UserLines<Int>()
        let runs = Log()
        let (gate, open) = AsyncStream<Void>.makeStream()
        let first = Task { await lines.run(key: "k", user: "U") { runs.add("run k"); for await _ in gate { break }; return 42 } }
        while runs.all.isEmpty { await Task.yield() }
        // A second message of the same user is queued behind k; its retries wait for it, not for a turn of their own.
        let queued = Task { await lines.run(key: "q", user: "U") { runs.add("run q"); return 9 } }
        while lines.inFlight != 2 { await Task.yield() }
        let retries = (0..<4).map { _ in Task { await lines.run(key: "k", user: "U") { runs.add("run k again"); return 7 } } }
        let queuedRetry = Task { await lines.run(key: "q", user: "U") { runs.add("run q again"); return 8 } }
        while lines.waiting != 5 { await Task.yield() }
        open.yield()
        #expect(await first.value == (42, false))
        for retry in retries { #expect(await retry.value == (42, true)) }
        #expect(await queued.value == (9, false))
        #expect(await queuedRetry.value == (9, true))
        #expect(runs.all == ["run k", "run q"])
        #expect(lines.inFlight == 0 && lines.waiting == 0 && lines.activeUsers == 0, "nothing is kept once the work is done")
        let later = await lines.run(key: "k", user: "U") { 7 }
        #expect(later.value == 7 && !later.duplicate, "a later delivery runs again: the store, not this memory, has the answer")
    }

    @Test("many users and deliveries at once: every message runs, one turn at a time per user, never two of a key at once")
    func concurrentLines() async {
        let lines = UserLines<Int>()
        let runs = Log()
        final class Busy: Sendable {
            let running = Mutex<[String: Int]>([:])
            let overlaps = Mutex(0)
        }
        let busy = Busy()
        await withTaskGroup(of: Void.self) { group in
            for user in 0..<20 {
                for n in 0..<10 {
                    for _ in 0..<3 {  // each message delivered three times
                        group.addTask {
                            _ = await lines.run(key: "\(user)-\(n)", user: "u\(user)") {
                                if busy.running.withLock({ b in b["u\(user)", default: 0] += 1; return b["u\(user)"]! }) > 1 { busy.overlaps.withLock { $0 += 1 } }
                                runs.add("\(user)-\(n)")
                                await Task.yield()
                                busy.running.withLock { $0["u\(user)", default: 0] -= 1 }
                                return n
                            }
                        }
                    }
                }
            }
        }
        #expect(busy.overlaps.withLock { $0 } == 0, "one turn at a time per user")
        let counts = Dictionary(grouping: runs.all, by: { $0 }).mapValues(\.count)
        #expect(counts.count == 200, "every message ran")
        // A delivery that comes after its turn finished runs again (in the server the store answers it), so 1 to 3 runs a message.
        #expect(counts.values.allSatisfy { (1...3).contains($0) })
        #expect(lines.activeUsers == 0 && lines.inFlight == 0 && lines.waiting == 0)
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
