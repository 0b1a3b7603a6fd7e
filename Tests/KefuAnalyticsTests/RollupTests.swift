import Foundation
import KefuAnalytics
import KefuDialogue
import KefuRules
import KefuTestSupport
import KefuWeChat
import Testing

/// Day rollups over conversations the real engine had (Rules/shop through the simulator), checked
/// against what the conversations did, not against the rollup code itself.
@Suite("day rollups and the report")
struct RollupTests {
    static let rules = try! RuleSetCompiler.compile(directory: TestSupport.root.appendingPathComponent("Rules/shop").path)
    static let days = LocalDays(utcOffset: 8 * 3600)
    /// 2026-11-20 10:00 +08:00.
    static let morning: Int64 = 1_795_629_600

    /// Runs `said` for `user` from `start`, a minute apart; returns the store.
    static func talk(_ store: MemoryStore, _ user: String, at start: Int64, _ said: [String]) async throws {
        let clock = VirtualClock(start)
        let simulator = Simulator(rules: rules, store: store, clock: clock, calls: SimulatedCalls(mocks: [
            .init(service: "erp", method: .get, path: "/orders/*", status: 404),
        ], rules: rules))
        for text in said {
            _ = try await simulator.send(.text(.init(content: text)), from: user)
            clock.advance(by: 60)
        }
    }

    @Test("a flow asked again twice and cancelled at its step; a rule; a default reply: counted where they happened")
    func funnel() async throws {
        let store = MemoryStore()
        try await Self.talk(store, "oUserA", at: Self.morning, ["我要退货", "不知道", "还是不知道", "取消"])
        try await Self.talk(store, "oUserB", at: Self.morning + 3600, ["运费多少", "你们卖不卖飞机"])
        let day = Self.days.day(of: Self.morning)
        let analyst = LogAnalyst(log: store, utcOffset: 8 * 3600)
        let rollup = try await analyst.rollup(day, now: Self.morning + 7200)
        #expect(rollup.messages == 6)
        #expect(rollup.users == 2)
        #expect(rollup.count(.defaultReply) == 1, "\(rollup.byKind)")
        #expect(rollup.rules["shipping-fee"] == 1, "\(rollup.rules)")
        let flow = try #require(rollup.flows["after-sales"], "\(rollup.flows.keys)")
        #expect(flow.started == 1)
        #expect(flow.reasked["order"] == 2, "\(flow.reasked)")
        #expect(flow.cancelled == 1)
        #expect(flow.endedAt["order"] == 1, "\(flow.endedAt)")
        #expect(flow.done == 0)

        let report = Report.make(period: [rollup], last30: [rollup], rules: Self.rules, unanswered: await store.unansweredLines(from: 0, until: .max, limit: 10),
                                 days: Self.days, now: Self.morning + 7200)
        #expect(report.unanswered == 1 && report.unansweredSampled == 1)
        let afterSales = try #require(report.flows.first { $0.name == "after-sales" })
        #expect(afterSales.giveUpStep == "order")
        #expect(afterSales.steps.first?.name == "order" && afterSales.steps.first?.reached == 1)
        #expect(report.neverHit.contains("invoice") && !report.neverHit.contains("shipping-fee"))
    }

    @Test("a closed day is counted once and kept; today is counted afresh; an hour after midnight a day is closed")
    func closedDays() async throws {
        let store = MemoryStore()
        try await Self.talk(store, "oUserA", at: Self.morning, ["运费多少"])
        let day = Self.days.day(of: Self.morning)
        let analyst = LogAnalyst(log: store, utcOffset: 8 * 3600)
        // Still today: counted from the lines, nothing kept.
        #expect(try await analyst.rollup(day, now: Self.morning + 60).messages == 1)
        #expect(await store.rollup(day: day, zone: 4801) == nil)
        // The next day, past the settle hour: computed and kept.
        let later = Self.days.start(of: day + 1) + LogAnalyst.settle + 1
        #expect(try await analyst.rollup(day, now: later).messages == 1)
        #expect(await store.rollup(day: day, zone: 4801) != nil)
        // A line written for that day afterwards does not change the kept rollup (closed means closed) …
        try await Self.talk(store, "oUserC", at: Self.morning + 120, ["运费多少"])
        #expect(try await analyst.rollup(day, now: later).messages == 1)
        // … while the cache counts today's incrementally: a second message shows at once.
        let cache = RollupCache(analyst: analyst)
        let today = Self.days.day(of: later)
        try await Self.talk(store, "oUserD", at: later, ["运费多少"])
        #expect(try await cache.rollups(from: today, through: today, now: later + 10).first?.messages == 1)
        try await Self.talk(store, "oUserD", at: later + 20, ["你们卖不卖飞机"])
        let again = try #require(try await cache.rollups(from: today, through: today, now: later + 30).first)
        #expect(again.messages == 2 && again.users == 1 && again.count(.defaultReply) == 1)
    }

    @Test("answer-time percentiles from the histogram are within a bucket (±25 %) of the exact ones")
    func percentiles() {
        var histogram: [Int: Int] = [:]
        var values: [Int64] = []
        var seed: UInt64 = 7
        for _ in 0..<10_000 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            let us = Int64(200 + (seed >> 33) % 20_000)
            values.append(us)
            histogram[LatencyHistogram.bucket(microseconds: us), default: 0] += 1
        }
        values.sort()
        for fraction in [0.5, 0.99] {
            let exact = Double(values[Int(Double(values.count) * fraction) - 1]) / 1000
            let estimate = try! #require(LatencyHistogram.percentile(histogram, fraction))
            #expect(estimate >= exact && estimate <= exact * 1.25, "p\(fraction): \(estimate) vs \(exact)")
        }
        #expect(LatencyHistogram.percentile([:], 0.5) == nil)
    }
}
