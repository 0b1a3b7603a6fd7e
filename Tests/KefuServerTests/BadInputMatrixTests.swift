import Foundation
import KefuTestSupport
import Testing

/// docs/security.md's matrix: every refused request gets its documented status and reason, and the
/// store (read from the SQLite file by the script) is unchanged; replays get the stored answer.
@Suite("bad-input matrix over HTTP", .serialized)
struct BadInputMatrixTests {
    static let script = TestSupport.root.appendingPathComponent("Tests/Interop/bad_input_matrix.py").path

    static func database() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("kefu-matrix-\(UInt32.random(in: 0...UInt32.max))/kefu.sqlite").path
    }

    @Test("plaintext and secure servers at their defaults (3 s freshness to keep the test short): every row answers as documented, nothing refused changes the store")
    func matrix() throws {
        let rules = TestSupport.root.appendingPathComponent("Rules/shop").path
        let secureDB = Self.database(), plainDB = Self.database()
        // Secure: the key is set and no --mode is given, so the server's default (secure-only) applies.
        let secure = try ServeTests.Server(rules: rules, arguments: ["--store", "sqlite:" + secureDB, "--timestamp-tolerance", "3"], mode: nil)
        var plainSecrets = ServeTests.secrets
        plainSecrets["KEFU_AES_KEY"] = nil
        let plain = try ServeTests.Server(rules: rules, arguments: ["--store", "sqlite:" + plainDB, "--timestamp-tolerance", "3",
                                                                    "--body-timeout", "2"],
                                          mode: nil, secrets: plainSecrets)
        let r = try TestSupport.run(try TestSupport.python(), [Self.script, secure.url, secureDB, plain.url, plainDB, "--freshness", "3"],
                                    mergeErrors: true)
        #expect(r.status == 0, "\(r.out)")
        let metrics = ServeTests.withoutAccount(try secure.get("/metrics"))
        #expect(metrics.contains(#"kefu_requests_total{mode="encrypted",outcome="rejected-403"}"#))
        #expect(metrics.contains(#"kefu_requests_total{mode="plaintext",outcome="rejected-403"}"#))
        _ = secure.stop()
        _ = plain.stop()
        let log = secure.remainingLog()
        #expect(!log.contains(ServeTests.secrets["KEFU_AES_KEY"]!) && !log.contains(ServeTests.secrets["KEFU_TOKEN"]!), "a secret reached the log")
    }

    @Test("a second kefu serve on the same SQLite file refuses to start, naming the file and the store for several processes")
    func secondProcess() throws {
        let rules = TestSupport.root.appendingPathComponent("Rules/shop").path
        let db = Self.database()
        let first = try ServeTests.Server(rules: rules, arguments: ["--store", "sqlite:" + db])
        #expect(throws: ServeTests.Server.ServerError.self) {
            let second = try ServeTests.Server(rules: rules, arguments: ["--store", "sqlite:" + db])
            _ = second.stop()
        }
        let second = Process()
        second.executableURL = TestSupport.kefu
        second.arguments = ["serve", "--rules", rules, "--port", "0", "--store", "sqlite:" + db]
        second.environment = ServeTests.secrets.merging(["PATH": "/usr/bin:/bin"]) { $1 }
        let err = Pipe()
        second.standardError = err
        second.standardOutput = FileHandle.nullDevice
        try second.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        second.waitUntilExit()
        #expect(second.terminationStatus != 0)
        #expect(text.contains(db) && text.contains("in use by another kefu serve (pid \(first.process.processIdentifier))") && text.contains("PostgreSQL"), "\(text)")
        #expect(try first.get("/healthz") == "ok\n", "the first server is unharmed")
        _ = first.stop()
    }

    @Test("a store that cannot write past its busy timeout: success in time, nothing applied, counted; the retry runs the turn with the session")
    func storeStall() throws {
        let db = Self.database()
        let server = try ServeTests.Server(rules: TestSupport.root.appendingPathComponent("Rules/shop").path,
                                           arguments: ["--store", "sqlite:" + db, "--budget-ms", "1000"], mode: "plaintext")
        let r = try TestSupport.run(try TestSupport.python(), [TestSupport.root.appendingPathComponent("Tests/Interop/store_stall.py").path,
                                                               server.url, db, "http://127.0.0.1:\(server.adminPort ?? 0)"],
                                    environment: ["KEFU_ADMIN_TOKEN": TestSupport.adminToken], mergeErrors: true)
        #expect(r.status == 0, "\(r.out)")
        _ = server.stop()
        #expect(server.remainingLog().contains("the store did not load or save the turn"))
    }
}
