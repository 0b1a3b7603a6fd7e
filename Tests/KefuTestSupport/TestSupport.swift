import Foundation

/// What the test targets that run real programs share: where the repository and the built `kefu`
/// are, which Python has the peers (wechatpy, jsonschema), and how to run a program to completion.
public enum TestSupport {
    /// The repository root (this file is Tests/KefuTestSupport/TestSupport.swift).
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The secrets the sample rule sets' services name (Rules/shop's erp, Rules/clinic's his): made up, for tests
    /// that serve the samples without their systems (calls to 127.0.0.1:9100 are refused and take their error branch).
    public static let sampleServiceSecrets = [
        "KEFU_SECRET_SHOP_TOKEN": "test-shop-token", "KEFU_SECRET_SHOP_SIGNING": "whsec_dGVzdC1zaG9wLXNpZ25pbmcta2V5LTAxMjM0NQ==",
        "KEFU_SECRET_CLINIC_TOKEN": "test-clinic-token", "KEFU_SECRET_CLINIC_SIGNING": "whsec_dGVzdC1jbGluaWMtc2lnbmluZy1rZXktMDEyMzQ1",
    ]

    /// The `kefu` built beside the test bundle.
    public static var kefu: URL {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let beside = directory.appendingPathComponent("kefu")
        // `swift test` runs the bundle from .build/<triple>/<config>/; the tool is next to it.
        return FileManager.default.isExecutableFile(atPath: beside.path) ? beside : directory.deletingLastPathComponent().appendingPathComponent("kefu")
    }

    public struct MissingPython: Error, CustomStringConvertible {
        public var description: String { "no Python with the test peers (wechatpy, jsonschema): run `make test` (it creates .venv) or set KEFU_PYTHON" }
    }

    /// KEFU_PYTHON, else the `.venv` that `make test` creates. Tests that need it fail (never skip) without it.
    public static func python() throws -> URL {
        if let configured = ProcessInfo.processInfo.environment["KEFU_PYTHON"] { return URL(fileURLWithPath: configured) }
        let venv = root.appendingPathComponent(".venv/bin/python")
        guard FileManager.default.isExecutableFile(atPath: venv.path) else { throw MissingPython() }
        return venv
    }

    public struct Output: Sendable {
        public var status: Int32
        public var out: String
        public var err: String
        public var data: Data
    }

    /// Runs a program to completion. `environment` nil inherits ours; otherwise only PATH is added.
    /// `mergeErrors` sends standard error into `out`.
    public static func run(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil, input: Data? = nil,
                           workingDirectory: URL? = nil, mergeErrors: Bool = false) throws -> Output {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { $1 } }
        if let workingDirectory { process.currentDirectoryURL = workingDirectory }
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = mergeErrors ? stdout : stderr
        try process.run()
        if let input { stdin.fileHandleForWriting.write(input) }
        try stdin.fileHandleForWriting.close()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = mergeErrors ? "" : String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return Output(status: process.terminationStatus, out: String(decoding: data, as: UTF8.self), err: err, data: data)
    }

    /// GET with curl (FoundationNetworking is not worth a dependency for a few test probes); `bearer`: an Authorization header.
    public static func get(_ url: String, bearer: String? = nil) throws -> String {
        let header = bearer.map { ["-H", "Authorization: Bearer \($0)"] } ?? []
        return try run(URL(fileURLWithPath: "/usr/bin/curl"), ["-sS", "--max-time", "10"] + header + [url]).out
    }

    /// The admin token the served test processes get (KEFU_ADMIN_TOKEN): /status and /metrics are on the admin
    /// listener (`--admin 127.0.0.1:0`, ``adminArguments``) and need it as a bearer token.
    public static let adminToken = "test-admin-token-4f9c2e7a1b"
    public static let adminArguments = ["--admin", "127.0.0.1:0"]

    /// The webhook's port in a `kefu serve` log (Hummingbird's "listening on 127.0.0.1:PORT", not the admin line).
    public static func webhookPort(in log: String) -> Int? { port(#"(?<!admin )listening on 127\.0\.0\.1:(\d+)"#, log) }
    /// The admin listener's port in a `kefu serve` log ("admin listening on 127.0.0.1:PORT").
    public static func adminPort(in log: String) -> Int? { port(#"admin listening on 127\.0\.0\.1:(\d+)"#, log) }

    static func port(_ pattern: String, _ log: String) -> Int? {
        guard let range = log.range(of: pattern, options: .regularExpression) else { return nil }
        return Int(log[range].split(separator: ":").last!)
    }

    /// `/status`, `/metrics` (the admin listener's, with the admin token) or anything else (the webhook's).
    public static func url(_ path: String, webhook: Int, admin: Int?) -> (url: String, bearer: String?) {
        if let admin, path.hasPrefix("/status") || path.hasPrefix("/metrics") { return ("http://127.0.0.1:\(admin)\(path)", adminToken) }
        return ("http://127.0.0.1:\(webhook)\(path)", nil)
    }
}

/// Rule files shared by the tests of reloads and unfinished files (KefuRulesTests, KefuServerTests).
public enum SampleRuleFiles {
    /// Four FAQ rules, one per keyword, ending with a newline.
    public static let faq = """
        rules:
          - id: fee
            when: {contains: [运费]}
            reply: 满 99 元包邮。
          - id: time
            when: {contains: [几天到]}
            reply: 48 小时内发货。
          - id: invoice
            when: {contains: [发票]}
            reply: 下单时勾选开发票。
          - id: hours
            when: {contains: [几点]}
            reply: 每天 9:00–21:00。

        """
}
