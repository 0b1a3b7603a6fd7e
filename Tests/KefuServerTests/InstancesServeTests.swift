import Foundation
import KefuTestSupport
import Testing

/// Several `kefu serve` processes on one PostgreSQL database, as a deployment behind a load balancer
/// runs them: real processes, a real PostgreSQL server (a throwaway cluster on loopback), WeChat's
/// side played by wechatpy in secure mode (Tests/Interop/instances_client.py).
@Suite("Many kefu serve instances on one PostgreSQL", .serialized)
struct InstancesServeTests {
    static let script = TestSupport.root.appendingPathComponent("Tests/Interop/instances_client.py").path

    /// Runs the wechatpy driver and decodes the JSON it prints.
    static func drive(_ arguments: [String]) throws -> Any {
        let r = try TestSupport.run(try TestSupport.python(), [script] + arguments)
        guard r.status == 0, let data = r.out.data(using: .utf8), let json = try? JSONSerialization.jsonObject(with: data) else {
            throw DriverFailed(output: r.out + r.err)
        }
        return json
    }

    struct DriverFailed: Error, CustomStringConvertible {
        let output: String
        var description: String { "instances_client.py failed:\n\(output)" }
    }

    static func instances(_ n: Int, rules: String, url: String) throws -> [ServeTests.Server] {
        try (0..<n).map { _ in try ServeTests.Server(rules: rules, arguments: ["--store", url], mode: "secure") }
    }

    /// Two instances (default: the after-sales flow of ServeTests) on a fresh database of `cluster`, and that database's name.
    static func deployment(_ label: String, on cluster: PostgresCluster = .shared, rules: String? = nil) throws
        -> (url: String, database: String, servers: [ServeTests.Server]) {
        let url = try cluster.makeDatabase(label)
        return (url, String(url.split(separator: "/").last!), try instances(2, rules: try rules ?? flowRules(), url: url))
    }

    /// The sum of one metric over the instances.
    static func total(_ servers: [ServeTests.Server], _ line: String) throws -> Int {
        try servers.reduce(0) { $0 + (ServeTests.metric(try $1.get("/metrics"), line) ?? 0) }
    }

    static func flowRules() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-instances-\(UInt32.random(in: 0...UInt32.max))/rules")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try ServeTests.flowRules.write(to: dir.appendingPathComponent("flows.yaml"), atomically: true, encoding: .utf8)
        return dir.path
    }

    @Test("two instances, one user's flow alternating between them turn by turn: every step follows on, each turn logged once")
    func alternate() throws {
        let cluster = PostgresCluster.shared
        let (_, database, servers) = try Self.deployment("alternate")
        let urls = servers.map(\.url).joined(separator: ",")
        let turns = try #require(try Self.drive(["alternate", urls, "oAlternate", "我要退货", "DD202406110001", "2", "13812345678"]) as? [[String: Any]])
        let replies = turns.map { $0["reply"] as? String ?? "" }
        #expect(replies.count == 4)
        #expect(replies[0].contains("请提供订单号"), "\(replies)")
        #expect(replies[1].contains("遇到了什么问题"), "\(replies)")
        #expect(replies[2].contains("请留下手机号"), "\(replies)")
        #expect(replies[3].contains("已登记：DD202406110001，发错货，13812345678。"), "\(replies)")
        #expect(Set(turns.compactMap { $0["url"] as? String }).count == 2, "the turns went to both instances")
        #expect(try cluster.query("SELECT count(*) FROM kefu_conversation WHERE user_id = 'oAlternate'", database: database) == "4")
        #expect(try cluster.query("SELECT count(*) FROM kefu_session WHERE user_id = 'oAlternate'", database: database) == "0", "the flow is done")
        #expect(try Self.total(servers, #"kefu_flow_events_total{flow="after-sales",event="done"}"#) == 1)
        // Each instance shows the others and the rule set they serve.
        let status = try #require(try JSONSerialization.jsonObject(with: Data(try servers[0].get("/status").utf8)) as? [String: Any])
        let instances = try #require(status["instances"] as? [[String: Any]], "\(status)")
        #expect(instances.count == 2 && instances.allSatisfy { $0["alive"] as? Bool == true })
        let versions = Set(instances.compactMap { ($0["rules"] as? [String: String])?.values.first })
        #expect(versions.count == 1 && versions.first == status["rulesVersion"] as? String, "\(instances) \(status["rulesVersion"] ?? "-")")
        for server in servers { #expect(server.stop() == 0) }
    }

    @Test("a reload reaches every instance: kefu reload through the database, and SIGHUP to one of them")
    func reloadEverywhere() throws {
        let (url, _, servers) = try Self.deployment("reload")
        func reloads(_ server: ServeTests.Server) throws -> Int {
            let status = try JSONSerialization.jsonObject(with: Data(try server.get("/status").utf8)) as? [String: Any]
            return status?["reloads"] as? Int ?? -1
        }
        func waitForReloads(_ n: Int) throws -> [Int] {
            let deadline = Date().addingTimeInterval(15)
            var seen = try servers.map(reloads)
            while seen.contains(where: { $0 < n }), Date() < deadline {
                Thread.sleep(forTimeInterval: 0.1)
                seen = try servers.map(reloads)
            }
            return seen
        }
        #expect(try servers.map(reloads) == [0, 0])
        let r = try TestSupport.run(TestSupport.kefu, ["reload", "--store", url, "--account", ServeTests.secrets["KEFU_APPID"]!],
                                    environment: ["PATH": "/usr/bin:/bin"])
        #expect(r.status == 0 && r.out.contains("2 instances alive"), "\(r.out)\(r.err)")
        #expect(try waitForReloads(1) == [1, 1])
        servers[0].signal(SIGHUP)
        #expect(try waitForReloads(2) == [2, 2], "SIGHUP to the first instance reached the second")
        for server in servers { #expect(server.stop() == 0) }
    }

    @Test("start-up with the database down: fails at once naming it (never the password); with --store-wait it waits and starts when the database is up")
    func startWithDatabaseDown() throws {
        let cluster = PostgresCluster.temporary("down")
        let url = try cluster.makeDatabase("down")
        let password = try cluster.password
        try cluster.stop(mode: .fast)
        let rules = try Self.flowRules()
        let started = Date()
        let r = try TestSupport.run(TestSupport.kefu, ["serve", "--rules", rules, "--port", "0", "--store", url],
                                    environment: ServeTests.secrets.merging(["PATH": "/usr/bin:/bin"]) { $1 })
        #expect(r.status != 0)
        #expect(Date().timeIntervalSince(started) < 15, "it failed at once")
        #expect(r.err.contains("cannot use PostgreSQL at postgres://kefu@127.0.0.1:\(try cluster.port)/") && r.err.contains("--store-wait"), "\(r.err)")
        #expect(!r.err.contains(password) && !r.out.contains(password), "the password was shown")

        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: 1.5)
            try? cluster.start()
        }
        let server = try ServeTests.Server(rules: rules, arguments: ["--store", url, "--store-wait", "30"], mode: "secure")
        let turns = try #require(try Self.drive(["alternate", server.url, "oWaited", "我要退货"]) as? [[String: Any]])
        #expect((turns.first?["reply"] as? String)?.contains("请提供订单号") == true, "\(turns)")
        #expect(server.stop() == 0)
        #expect(server.remainingLog().contains("PostgreSQL is not reachable yet; trying again"))
    }

    @Test("a retry storm of one message over both instances: one effect (one log line, one flow start), identical replies")
    func retryStorm() throws {
        let cluster = PostgresCluster.shared
        let (_, database, servers) = try Self.deployment("storm")
        let urls = servers.map(\.url).joined(separator: ",")
        let storm = try #require(try Self.drive(["storm", urls, "oStorm", "我要退货", "12"]) as? [String: Any])
        let replies = try #require(storm["replies"] as? [String])
        #expect(storm["statuses"] as? [Int] == Array(repeating: 200, count: 12), "\(storm)")
        #expect(Set(replies).count == 1 && replies[0].contains("请提供订单号"), "\(replies)")
        #expect(try cluster.query("SELECT count(*) FROM kefu_conversation WHERE user_id = 'oStorm'", database: database) == "1")
        #expect(try cluster.query("SELECT count(*) FROM kefu_answered WHERE key LIKE '%|oStorm|%' AND response IS NOT NULL", database: database) == "1")
        #expect(try Self.total(servers, #"kefu_flow_events_total{flow="after-sales",event="started"}"#) == 1)
        #expect(try Self.total(servers, #"kefu_requests_total{mode="secure",outcome="duplicate"}"#) == 11)
        // The flow moved once: the next message is the order number's step.
        let next = try #require(try Self.drive(["alternate", urls, "oStorm", "DD202406110001"]) as? [[String: Any]])
        #expect((next.first?["reply"] as? String)?.contains("遇到了什么问题") == true, "\(next)")
        for server in servers { #expect(server.stop() == 0) }
    }

    @Test("PostgreSQL restarts in the middle of a load: every delivery answered within 5 s, WeChat's retries get each message answered exactly once, the instances recover by themselves")
    func databaseRestart() throws {
        let cluster = PostgresCluster.temporary("restart")
        let (_, database, servers) = try Self.deployment("restart", on: cluster, rules: TestSupport.root.appendingPathComponent("Rules/shop").path)
        let urls = servers.map(\.url).joined(separator: ",")
        let finished = DispatchSemaphore(value: 0), outcome = LockedBox<Result<Any, any Error>>()
        Thread.detachNewThread {
            outcome.set(Result { try Self.drive(["load", urls, "8", "8", "40"]) })
            finished.signal()
        }
        // Restart once the load is running: wait until turns are being written (a bounded poll), then restart.
        let started = Date().addingTimeInterval(15)
        while Date() < started, (Int((try? cluster.query("SELECT count(*) FROM kefu_conversation", database: database)) ?? "0") ?? 0) < 50 {
            Thread.sleep(forTimeInterval: 0.05)
        }
        try cluster.restart(mode: .fast)
        finished.wait()
        let summary = try #require(try outcome.get()!.get() as? [String: Any])
        let messages = try #require(summary["messages"] as? Int)
        #expect(messages > 100, "\(summary)")
        #expect((summary["slowest"] as? Double ?? 99) < 5.0, "every delivery was answered within WeChat's 5 s: \(summary)")
        #expect((summary["statuses"] as? [String: Int])?.keys.sorted() == ["200"], "\(summary)")
        #expect((summary["unanswered"] as? [String])?.isEmpty == true, "every message was answered in the end: \(summary)")
        #expect((summary["first_success"] as? Int ?? 0) > 0, "the restart was felt (some first deliveries got success): \(summary)")
        // Exactly once: one log line and one answer per message, none half-written.
        #expect(try cluster.query("SELECT count(*) FROM kefu_conversation WHERE user_id LIKE 'oLoadUser%'", database: database) == "\(messages)")
        #expect(try cluster.query("SELECT count(DISTINCT message) FROM kefu_conversation WHERE user_id LIKE 'oLoadUser%'", database: database) == "\(messages)")
        #expect(try cluster.query("SELECT count(*) FROM kefu_answered WHERE key LIKE '%|oLoadUser%' AND response IS NOT NULL", database: database) == "\(messages)")
        #expect(try cluster.query("SELECT count(*) FROM kefu_answered WHERE response IS NULL", database: database) == "0", "no claim left behind")
        #expect(try Self.total(servers, #"kefu_rule_hits_total{rule="shipping-fee"}"#) == messages)
        for server in servers {
            #expect(server.stop() == 0)
            let log = server.remainingLog()
            #expect(!log.contains(try cluster.password), "the database password reached the log")
        }
    }
}

final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T?
    func set(_ v: T) { lock.lock(); value = v; lock.unlock() }
    func get() -> T? { lock.lock(); defer { lock.unlock() }; return value }
}
