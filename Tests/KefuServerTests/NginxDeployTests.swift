import Foundation
import KefuTestSupport
import Testing

/// deploy/nginx-kefu.conf, the sample of docs/deploy.md, as it is: nginx (Debian's) in front of two
/// `kefu serve` instances on one PostgreSQL; WeChat's side played by wechatpy through nginx.
@Suite("nginx in front of two instances (deploy/nginx-kefu.conf)", .serialized)
struct NginxDeployTests {
    /// nginx on a free port with the sample config, its upstream pointed at `ports`.
    final class Nginx {
        let folder: URL
        let port: Int
        let process = Process()

        init(upstream ports: [Int]) throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-nginx-\(UInt32.random(in: 0...UInt32.max))")
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("logs"), withIntermediateDirectories: true)
            port = try TestSupport.freePort()
            var site = try String(contentsOf: TestSupport.root.appendingPathComponent("deploy/nginx-kefu.conf"), encoding: .utf8)
            #expect(site.contains("server 127.0.0.1:8080 ") && site.contains("server 127.0.0.1:8081 ") && site.contains("listen 80;"),
                    "the sample's addresses changed: update this test")
            site = site.replacingOccurrences(of: "server 127.0.0.1:8080 ", with: "server 127.0.0.1:\(ports[0]) ")
                .replacingOccurrences(of: "server 127.0.0.1:8081 ", with: "server 127.0.0.1:\(ports[1]) ")
                .replacingOccurrences(of: "listen 80;", with: "listen 127.0.0.1:\(port);")
            try site.write(to: folder.appendingPathComponent("kefu.conf"), atomically: true, encoding: .utf8)
            // What /etc/nginx/nginx.conf gives the site on Debian, reduced to a test's needs.
            let main = """
                daemon off;
                worker_processes 1;
                pid \(folder.path)/nginx.pid;
                error_log \(folder.path)/logs/error.log warn;
                events { worker_connections 256; }
                http {
                    access_log \(folder.path)/logs/access.log;
                    client_body_temp_path \(folder.path)/body; proxy_temp_path \(folder.path)/proxy;
                    fastcgi_temp_path \(folder.path)/fastcgi; uwsgi_temp_path \(folder.path)/uwsgi; scgi_temp_path \(folder.path)/scgi;
                    include \(folder.path)/kefu.conf;
                }
                """
            try main.write(to: folder.appendingPathComponent("nginx.conf"), atomically: true, encoding: .utf8)
            guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/nginx") else {
                throw Missing(description: "nginx is not installed: run scripts/install-deps (it installs Debian's nginx)")
            }
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/nginx")
            process.arguments = ["-p", folder.path, "-c", folder.appendingPathComponent("nginx.conf").path]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline, (try? TestSupport.get("http://127.0.0.1:\(port)/healthz")) != "ok\n" { Thread.sleep(forTimeInterval: 0.05) }
        }

        struct Missing: Error, CustomStringConvertible { let description: String }

        var url: String { "http://127.0.0.1:\(port)/wechat" }

        deinit {
            if process.isRunning { process.terminate(); process.waitUntilExit() }
            try? FileManager.default.removeItem(at: folder)
        }
    }

    @Test("through nginx: one user's flow spread over both instances, a retry storm answered once, an instance killed -9 and nothing lost, /status not exposed")
    func behindNginx() throws {
        let cluster = PostgresCluster.shared
        let (_, database, servers) = try InstancesServeTests.deployment("nginx")
        let nginx = try Nginx(upstream: servers.map(\.port))
        #expect(try TestSupport.get("http://127.0.0.1:\(nginx.port)/healthz") == "ok\n")

        let turns = try #require(try InstancesServeTests.drive(["alternate", nginx.url, "oNginx", "我要退货", "DD202406110001", "2", "13812345678"])
                                 as? [[String: Any]])
        let replies = turns.map { $0["reply"] as? String ?? "" }
        #expect(replies.last?.contains("已登记：DD202406110001，发错货，13812345678。") == true, "\(replies)")
        let handled = try servers.map { ServeTests.metric(try $0.get("/metrics"), #"kefu_requests_total{mode="secure",outcome="reply"}"#) ?? 0 }
        #expect(handled.allSatisfy { $0 > 0 } && handled.reduce(0, +) == 4, "round robin reached both instances: \(handled)")

        let storm = try #require(try InstancesServeTests.drive(["storm", nginx.url, "oNginxStorm", "我要退货", "8"]) as? [String: Any])
        #expect(Set(storm["replies"] as? [String] ?? []).count == 1, "\(storm)")
        #expect(try cluster.query("SELECT count(*) FROM kefu_conversation WHERE user_id = 'oNginxStorm'", database: database) == "1")

        // One instance dies: nginx passes the pushes to the other, the flow goes on where it was.
        servers[0].signal(SIGKILL)
        servers[0].process.waitUntilExit()
        let after = try #require(try InstancesServeTests.drive(["alternate", nginx.url, "oNginxStorm", "DD202406110001", "1", "13812345678"])
                                 as? [[String: Any]])
        #expect(after.map { $0["status"] as? Int } == [200, 200, 200], "\(after)")
        #expect((after.last?["reply"] as? String)?.contains("已登记：DD202406110001，质量问题，13812345678。") == true, "\(after)")

        // Only WeChat's path and the health check go through; /status and /metrics stay private.
        for path in ["/status", "/metrics"] {
            let body = try TestSupport.get("http://127.0.0.1:\(nginx.port)\(path)")
            #expect(body.contains("404") && !body.contains("ruleCount") && !body.contains("kefu_"), "\(path) went through nginx: \(body.prefix(200))")
        }
        #expect(servers[1].stop() == 0)
    }
}
