import Foundation
import KefuServer
import KefuTestSupport
import Testing

/// Reloads of a running `kefu serve` while a rule file is half written: a file cut off mid-line is
/// refused, a file cut at a rule boundary (valid YAML, fewer rules) is held as a pending shrink,
/// and a removal done the documented way goes live on the second reload.
@Suite("kefu serve: reload safety", .serialized)
struct ReloadSafetyTests {
    typealias Server = ServeTests.Server

    static let faq = SampleRuleFiles.faq
    static let other = "default: 抱歉，没听懂。\nrules:\n  - {id: hello, when: {contains: [你好]}, reply: 您好！}\n  - {id: bye, when: {contains: [再见]}, reply: 再见！}\n"

    /// A rule-set folder with faq.yaml (4 rules) and other.yaml (2 rules, the default reply).
    static func ruleSet() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-reload-safety-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Self.faq.write(to: dir.appendingPathComponent("faq.yaml"), atomically: true, encoding: .utf8)
        try Self.other.write(to: dir.appendingPathComponent("other.yaml"), atomically: true, encoding: .utf8)
        return dir
    }

    /// The first `lines` lines of faq.yaml, with or without the newline after the last one.
    static func faqCut(lines: Int, newline: Bool) -> String {
        Self.faq.split(separator: "\n").prefix(lines).joined(separator: "\n") + (newline ? "\n" : "")
    }

    /// Writes in place, as an editor saving over the file or `cp` does (the reader can see it half done).
    static func overwrite(_ text: String, _ file: URL) throws {
        let handle = try FileHandle(forWritingTo: file)
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    /// The documented way: a temp file in the same folder, renamed over the rule file.
    static func publish(_ text: String, _ file: URL) throws {
        let temp = file.deletingLastPathComponent().appendingPathComponent(".\(file.lastPathComponent).tmp")
        try Data(text.utf8).write(to: temp)
        guard rename(temp.path, file.path) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    static func say(_ server: Server, _ text: String) throws -> String {
        let r = try ServeTests.client([server.url, "say", text])
        #expect(r.status == 0, "\(r.output)")
        return r.output
    }

    /// All reloads so far, whatever their result.
    static func reloads(_ server: Server) throws -> Int {
        let metrics = try server.get("/metrics")
        return metrics.split(separator: "\n").filter { $0.hasPrefix("kefu_reloads_total{") }
            .compactMap { Int($0.split(separator: " ").last!) }.reduce(0, +)
    }

    /// Polls until the server has finished `count` reloads (within 15 s); returns /status.
    static func waitForReloads(_ server: Server, _ count: Int) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(15)
        while try reloads(server) < count {
            guard Date() < deadline else { Issue.record("no reload \(count) within 15 s"); break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let status = try server.get("/status")
        return try #require(try JSONSerialization.jsonObject(with: Data(status.utf8)) as? [String: Any], "\(status)")
    }

    static func metric(_ server: Server, _ result: String) throws -> Int? {
        ServeTests.metric(try server.get("/metrics"), "kefu_reloads_total{result=\"\(result)\"}")
    }

    @Test("a file cut at a rule boundary without its final newline: the reload is refused, located; the old rules answer")
    func cutWithoutNewline() throws {
        let dir = try Self.ruleSet()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try Server(rules: dir.path)
        let faq = dir.appendingPathComponent("faq.yaml")
        try Self.overwrite(Self.faqCut(lines: 7, newline: false), faq)
        server.signal(SIGHUP)
        let status = try Self.waitForReloads(server, 1)
        #expect(status["lastReloadResult"] as? String == "failed", "\(status)")
        let error = try #require(status["lastReloadError"] as? String)
        #expect(error.contains("\(dir.path)/faq.yaml:7:21: error: the file ends in the middle of a line (line 7 has no newline at its end) — it may still be being written [unfinished-file]"), "\(error)")
        #expect(error.contains("publish by writing a temp file in the same folder and renaming it"), "\(error)")
        #expect(status["ruleCount"] as? Int == 6)
        #expect(try Self.say(server, "几点开门").contains("每天 9:00–21:00。"), "the previous rule set keeps serving")
        #expect(try Self.metric(server, "failed") == 1)
        // The copy finishes: the next reload takes it.
        try Self.overwrite(Self.faq, faq)
        server.signal(SIGHUP)
        let after = try Self.waitForReloads(server, 2)
        #expect(after["lastReloadResult"] as? String == "ok" && after["lastReloadError"] is NSNull, "\(after)")
        #expect(server.stop() == 0)
        #expect(server.remainingLog().contains("reload failed; still serving the previous rule set"))
    }

    @Test("a file cut at a rule boundary with its newline (valid YAML, 3 of 4 rules gone): refused as a suspicious shrink, shown in /status")
    func cutWithNewline() throws {
        let dir = try Self.ruleSet()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try Server(rules: dir.path)
        let faq = dir.appendingPathComponent("faq.yaml")
        try Self.overwrite(Self.faqCut(lines: 4, newline: true), faq)
        server.signal(SIGHUP)
        let status = try Self.waitForReloads(server, 1)
        #expect(status["lastReloadResult"] as? String == "refused-shrink", "\(status)")
        let pending = try #require(status["pendingShrink"] as? [String: Any], "\(status)")
        #expect(pending["reasons"] as? [String] == ["\(dir.path)/faq.yaml would lose 3 of its 4 rules"], "\(pending)")
        #expect((pending["change"] as? String)?.hasPrefix("6 → 3 rules; \(dir.path)/faq.yaml 4 → 1; removed: time, invoice, hours") == true, "\(pending)")
        #expect((status["lastReloadError"] as? String)?.contains("reload once more") == true, "\(status)")
        #expect(try Self.say(server, "发票怎么开").contains("下单时勾选开发票。"), "the previous rule set keeps serving")
        #expect(try Self.metric(server, "refused-shrink") == 1)
        #expect((status["files"] as? [String: Any])?["\(dir.path)/faq.yaml"] as? [String: Int] == ["rules": 4, "intents": 0, "flows": 0], "\(status)")
        // The copy completes: whole again, nothing lost, so it goes live and the pending shrink is forgotten.
        try Self.overwrite(Self.faq, faq)
        server.signal(SIGHUP)
        let after = try Self.waitForReloads(server, 2)
        #expect(after["lastReloadResult"] as? String == "ok" && after["pendingShrink"] is NSNull, "\(after)")
        #expect(after["lastChange"] as? String == "6 → 6 rules; no rule, intent or flow added or removed", "\(after)")
        #expect(server.stop() == 0)
        let log = server.remainingLog()
        #expect(log.contains("reload refused: \(dir.path)/faq.yaml would lose 3 of its 4 rules; still serving the previous rule set."), "\(log)")
    }

    @Test("a deliberate removal, published by rename and confirmed by a second reload, goes live; the log line has the counts")
    func deliberateRemoval() throws {
        let dir = try Self.ruleSet()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try Server(rules: dir.path)
        let faq = dir.appendingPathComponent("faq.yaml")
        try Self.publish(Self.faqCut(lines: 4, newline: true), faq)
        server.signal(SIGHUP)
        let refused = try Self.waitForReloads(server, 1)
        #expect(refused["lastReloadResult"] as? String == "refused-shrink", "\(refused)")
        #expect(try Self.say(server, "几天到").contains("48 小时内发货。"))
        server.signal(SIGHUP)  // the same files again: confirmed
        let status = try Self.waitForReloads(server, 2)
        #expect(status["lastReloadResult"] as? String == "ok", "\(status)")
        #expect(status["ruleCount"] as? Int == 3 && status["pendingShrink"] is NSNull, "\(status)")
        #expect(status["lastChange"] as? String == "6 → 3 rules; \(dir.path)/faq.yaml 4 → 1; removed: time, invoice, hours", "\(status)")
        #expect(try Self.say(server, "几天到").contains("抱歉，没听懂。"), "the removed rule no longer answers")
        #expect(try Self.say(server, "运费多少").contains("满 99 元包邮。"))
        #expect(try Self.metric(server, "ok") == 1 && Self.metric(server, "refused-shrink") == 1)
        // Removing a whole file is a shrink too; renaming one is not.
        try FileManager.default.moveItem(at: dir.appendingPathComponent("other.yaml"), to: dir.appendingPathComponent("greetings.yaml"))
        server.signal(SIGHUP)
        let renamed = try Self.waitForReloads(server, 3)
        #expect(renamed["lastReloadResult"] as? String == "ok", "\(renamed)")
        #expect((renamed["lastChange"] as? String)?.contains("\(dir.path)/greetings.yaml new (2 rules)") == true, "\(renamed)")
        try FileManager.default.removeItem(at: dir.appendingPathComponent("greetings.yaml"))
        server.signal(SIGHUP)
        let gone = try Self.waitForReloads(server, 4)
        #expect(gone["lastReloadResult"] as? String == "refused-shrink", "\(gone)")
        #expect((gone["pendingShrink"] as? [String: Any])?["reasons"] as? [String] == ["\(dir.path)/greetings.yaml would lose all its 2 rules (the file is gone)"], "\(gone)")
        #expect(server.stop() == 0)
        let log = server.remainingLog()
        #expect(log.contains("rule set reloaded: 6 → 3 rules; \(dir.path)/faq.yaml 4 → 1; removed: time, invoice, hours"), "\(log)")
    }

    @Test("--watch: a shrink is refused when the file changes; saving the file again confirms it")
    func watchConfirm() throws {
        let dir = try Self.ruleSet()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try Server(rules: dir.path, arguments: ["--watch"])
        let faq = dir.appendingPathComponent("faq.yaml")
        let kept = Self.faqCut(lines: 4, newline: true)
        try Self.publish(kept, faq)
        let refused = try Self.waitForReloads(server, 1)
        #expect(refused["lastReloadResult"] as? String == "refused-shrink", "\(refused)")
        // Saved again, unchanged: a new modification time, the same text.
        Thread.sleep(forTimeInterval: 0.01)
        try Self.publish(kept, faq)
        let status = try Self.waitForReloads(server, 2)
        #expect(status["lastReloadResult"] as? String == "ok" && status["ruleCount"] as? Int == 3, "\(status)")
        #expect(server.stop() == 0)
    }
}

/// ``LiveRules`` itself: the settle delay reads the files again, and reloads run one at a time.
@Suite("LiveRules: settle and one reload at a time")
struct LiveRulesReloadTests {
    typealias Files = ReloadSafetyTests

    @Test("a shrink seen while a copy is in progress is judged again after the settle delay, on the finished file")
    func settleRereads() async throws {
        let dir = try Files.ruleSet()
        defer { try? FileManager.default.removeItem(at: dir) }
        let live = try LiveRules(directory: dir.path, settle: .seconds(3))
        let faq = dir.appendingPathComponent("faq.yaml")
        try Files.overwrite(Files.faqCut(lines: 4, newline: true), faq)
        let start = ContinuousClock.now
        async let reloaded = live.reload()
        // The first read happens at once and sees 3 of 4 rules gone; the copy finishes within the delay.
        try await Task.sleep(for: .seconds(1))
        try Files.overwrite(Files.faq, faq)
        let result = await reloaded
        #expect(ContinuousClock.now - start >= .seconds(3), "the suspicious first read waited the settle delay")
        guard case .success(let change) = result else { Issue.record("refused: \(result)"); return }
        #expect(change.summary == "6 → 6 rules; no rule, intent or flow added or removed")
        #expect(live.status.pendingShrink == nil && live.status.ruleCount == 6)
    }

    @Test("two reloads at once run one after the other: the first refuses the shrink, the second (same files) confirms it")
    func oneAtATime() async throws {
        let dir = try Files.ruleSet()
        defer { try? FileManager.default.removeItem(at: dir) }
        let live = try LiveRules(directory: dir.path, settle: .milliseconds(300))
        try Files.publish(Files.faqCut(lines: 4, newline: true), dir.appendingPathComponent("faq.yaml"))
        async let a = live.reload()
        async let b = live.reload()
        let results = await [a, b]
        let refused = results.filter { if case .failure(.shrink) = $0 { true } else { false } }
        let accepted = results.filter { if case .success = $0 { true } else { false } }
        #expect(refused.count == 1 && accepted.count == 1, "\(results)")
        #expect(live.status.ruleCount == 3 && live.status.lastReloadResult == "ok" && live.status.pendingShrink == nil)
        #expect(live.status.lastChange == "6 → 3 rules; \(dir.path)/faq.yaml 4 → 1; removed: time, invoice, hours")
    }
}

extension LiveRulesReloadTests {
    @Test("a removal too small to be suspicious is read again too: a copy caught mid-way goes live finished")
    func smallRemovalRereads() async throws {
        let dir = try Files.ruleSet()
        defer { try? FileManager.default.removeItem(at: dir) }
        let live = try LiveRules(directory: dir.path, settle: .seconds(2))
        let faq = dir.appendingPathComponent("faq.yaml")
        try Files.overwrite(Files.faqCut(lines: 10, newline: true), faq)  // 3 of 4 rules so far
        async let reloaded = live.reload()
        try await Task.sleep(for: .milliseconds(700))
        try Files.overwrite(Files.faq, faq)
        let result = await reloaded
        guard case .success(let change) = result else { Issue.record("refused: \(result)"); return }
        #expect(change.removedRules.isEmpty, "\(change.summary)")
        #expect(live.status.ruleCount == 6)
    }
}
