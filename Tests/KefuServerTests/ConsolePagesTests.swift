import Foundation
import KefuTestSupport
import Testing

/// The console's pages on a real `kefu serve` holding a generated log (kefu-loggen: the shop's
/// conversations through the engine over 30 days), in Debian's chromium (Tests/Browser/console_pages.py),
/// which checks the numbers against its own SQL on the store; and `kefu report` on the same store.
@Suite("kefu serve: the console's pages on a generated log", .serialized)
struct ConsolePagesTests {
    static let shop = TestSupport.root.appendingPathComponent("Rules/shop").path

    /// A SQLite store with about `turns` lines over the last 30 days, and a few users with a human agent.
    static func generatedStore(turns: Int) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-console-log-\(UInt32.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("kefu.sqlite").path
        let loggen = TestSupport.kefu.deletingLastPathComponent().appendingPathComponent("kefu-loggen")
        let r = try TestSupport.run(loggen, ["--rules", shop, "--corpus", TestSupport.root.appendingPathComponent("Corpora/shop").path,
                                             "--unanswered", TestSupport.root.appendingPathComponent("Benchmarks/LogGen/unanswered-shop.txt").path,
                                             "--store", "sqlite:" + path, "--turns", String(turns), "--days", "30", "--handed-off", "4"],
                                    mergeErrors: true)
        #expect(r.status == 0 && r.out.contains("kefu-loggen: "), "\(r.out)")
        return path
    }

    @Test("in chromium: every page loads; its numbers match the store's; a viewer sees masked users; an editor reveals (logged), tries the rule set, hands back")
    func pages() throws {
        let store = try Self.generatedStore(turns: 6_000)
        let users = try ConsoleServeTests.usersFile()
        let server = try ServeTests.Server(rules: Self.shop, arguments: [
            "--store", "sqlite:" + store, "--console-users", users,
            "--corpus", TestSupport.root.appendingPathComponent("Corpora/shop").path,
        ])
        let admin = "http://127.0.0.1:\(try #require(server.adminPort))"
        let shots = ProcessInfo.processInfo.environment["KEFU_CONSOLE_SCREENSHOTS"]
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("kefu-console-pages-\(UInt32.random(in: 0 ... .max))").path
        let r = try TestSupport.run(try TestSupport.python(), [
            TestSupport.root.appendingPathComponent("Tests/Browser/console_pages.py").path, admin, store, "--screenshots", shots,
        ], environment: [
            "HOME": FileManager.default.temporaryDirectory.path,
            "CONSOLE_VIEWER": "\(ConsoleServeTests.viewer.0):\(ConsoleServeTests.viewer.1)",
            "CONSOLE_EDITOR": "\(ConsoleServeTests.editor.0):\(ConsoleServeTests.editor.1)",
        ], mergeErrors: true)
        #expect(r.status == 0 && r.out.contains("all console page checks passed"), "\(r.out)")
        for shot in ["overview.png", "unresolved.png", "rules.png", "flows.png", "sessions.png", "try.png", "handoff.png", "transcript.png"] {
            let size = (try? FileManager.default.attributesOfItem(atPath: shots + "/" + shot)[.size] as? Int) ?? 0
            #expect(size > 10_000, "screenshot \(shot): \(size) bytes")
        }
        #expect(server.stop() == 0)
        let log = server.remainingLog()
        // The editor's reveal is in the log: who, and which user (masked there too).
        #expect(log.contains("console: a masked user was revealed") && log.contains(ConsoleServeTests.editor.0), "\(log.suffix(2000))")
        #expect(log.contains("console: a user was handed back to the bot"))
        if let revealed = r.out.split(separator: "\n").first(where: { $0.hasPrefix("revealed: ") })?.dropFirst("revealed: ".count) {
            #expect(!log.contains(String(revealed)), "the revealed openid itself is not logged")
        }
    }

    @Test("kefu report: one self-contained HTML file (Chart.js inside, nothing loaded from elsewhere) and JSON whose numbers match the store's")
    func report() throws {
        let store = try Self.generatedStore(turns: 3_000)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-report-\(UInt32.random(in: 0 ... .max)).html").path
        let html = try TestSupport.run(TestSupport.kefu, ["report", "--since", "30d", "--rules", Self.shop, "--store", "sqlite:" + store, "-o", out])
        #expect(html.status == 0 && html.err.contains("written to \(out)"), "\(html.out)\(html.err)")
        let page = try String(contentsOfFile: out, encoding: .utf8)
        #expect(page.contains("Chart.js v") && page.contains("MIT") && page.contains("kefuChart("))
        #expect(!page.contains("src=\"http") && !page.contains("href=\"http") && !page.contains("<link"), "nothing from elsewhere")
        let users = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/python3"), ["-c",
            "import sqlite3, sys; [print(u) for (u,) in sqlite3.connect(sys.argv[1]).execute('SELECT DISTINCT user FROM conversation')]", store])
        let openids = users.out.split(separator: "\n").map(String.init)
        #expect(openids.count > 100 && !openids.contains { page.contains($0) }, "no openid is in the report")
        let json = try TestSupport.run(TestSupport.kefu, ["report", "--since", "30d", "--rules", Self.shop, "--store", "sqlite:" + store, "--format", "json"])
        #expect(json.status == 0, "\(json.err)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
        // Independent count: sqlite3 on the file.
        let counted = try TestSupport.run(URL(fileURLWithPath: "/usr/bin/python3"), ["-c", """
            import sqlite3, sys, datetime
            z = datetime.timezone(datetime.timedelta(hours=8)); d = datetime.datetime.now(z).date() - datetime.timedelta(days=29)
            start = int(datetime.datetime(d.year, d.month, d.day, tzinfo=z).timestamp())
            db = sqlite3.connect(sys.argv[1])
            print(db.execute("SELECT count(*) FROM conversation WHERE time >= ? AND msg_type NOT IN ('call','expired') AND kind != 'call'", (start,)).fetchone()[0])
            print(db.execute("SELECT count(*) FROM conversation WHERE time >= ? AND kind = 'default'", (start,)).fetchone()[0])
            """, store])
        let numbers = counted.out.split(separator: "\n").compactMap { Int($0) }
        #expect(numbers.count == 2 && object["messages"] as? Int == numbers[0] && object["unanswered"] as? Int == numbers[1], "\(counted.out) \(counted.err)")
        #expect((object["days"] as? [Any])?.count == 30 && (object["flows"] as? [Any])?.isEmpty == false)
        let bad = try TestSupport.run(TestSupport.kefu, ["report", "--since", "soon", "--store", "sqlite:" + store])
        #expect(bad.status == 64 && bad.err.contains("--since soon"), "\(bad.err)")
        let missing = try TestSupport.run(TestSupport.kefu, ["report", "--store", "sqlite:/nonexistent/kefu.sqlite"])
        #expect(missing.status == 64 && missing.err.contains("no such file"), "\(missing.err)")
    }
}
