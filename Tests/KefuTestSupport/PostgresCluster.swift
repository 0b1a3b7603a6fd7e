import Foundation
import Synchronization

/// A real, throwaway PostgreSQL server for tests: a cluster in a folder of its own, listening only on 127.0.0.1, run
/// by `scripts/postgres` (as the `postgres` user when the tests run as root). No client library: databases are made
/// with `psql` over the cluster's unix socket, so this target stays free of dependencies.
///
///     let url = try PostgresCluster.shared.makeDatabase()      // "postgres://kefu:…@127.0.0.1:PORT/t_…", empty, owned by kefu
///     let cluster = PostgresCluster.temporary()                // one of its own, for a test that stops or restarts it
///     let other = try cluster.makeDatabase("restart")
///     try cluster.restart(mode: .immediate)                    // same port, same data
///
/// Every cluster is started lazily (by `start()` or the first `makeDatabase`/`url`/`query`), and a watcher started
/// with it stops the server once the test process has exited (even when it crashed or was killed); a `temporary()`
/// cluster's folder is deleted then too. The first new cluster of a process runs initdb once into a template (about a
/// second, more on a loaded machine); every cluster after that is a copy of it (under a second).
/// Binaries: `KEFU_TEST_POSTGRES_BIN` (a PostgreSQL bin folder), else the installed `postgresql` package; without
/// them `start()` throws (tests fail, never skip) saying to run `scripts/install-deps`.
public final class PostgresCluster: Sendable, CustomStringConvertible {
    public enum StopMode: String, Sendable {
        /// Waits for the clients to disconnect.
        case smart
        /// Disconnects the clients, rolls back their transactions, shuts down cleanly.
        case fast
        /// Kills the server: the next start recovers from the log, like after a crash.
        case immediate
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
        /// No PostgreSQL binaries were found (`scripts/install-deps` installs them).
        public var missingBinaries = false
    }

    /// One cluster for the whole test process (a temporary one): take a database of your own from it with
    /// `makeDatabase`. Don't stop or restart it — use `temporary()` for that, so that other tests running in parallel
    /// are not disturbed.
    public static let shared = PostgresCluster.temporary("shared")

    /// The cluster's folder: data/ (PGDATA), log (the server's log), url, password, port; the unix socket.
    public let folder: URL
    private let requestedPort: Int?
    private let bin: URL?
    private let removeWithProcess: Bool
    private let state = Mutex(State())

    private struct State {
        var started = false
        var port = 0
        var password = ""
        var binFolder = URL(fileURLWithPath: "/usr/bin")
    }

    /// A cluster in `folder` (created, or reused when it holds one), on `port` (default: the port it had, else a
    /// free one). The folder is left when the test process exits; the server is stopped then.
    /// - Parameter bin: a PostgreSQL bin folder for this cluster, instead of `KEFU_TEST_POSTGRES_BIN` or the installed one.
    public convenience init(folder: URL, port: Int? = nil, bin: URL? = nil) {
        self.init(folder: folder, port: port, bin: bin, removeWithProcess: false)
    }

    private init(folder: URL, port: Int?, bin: URL?, removeWithProcess: Bool) {
        self.folder = folder
        self.requestedPort = port
        self.bin = bin
        self.removeWithProcess = removeWithProcess
    }

    /// A new cluster in a new folder under the temporary folder, on a free port, deleted with its server when the
    /// test process exits. Cheap (a copy of the process's template): use one per test that stops or restarts it.
    public static func temporary(_ label: String = "c", bin: URL? = nil) -> PostgresCluster {
        PostgresCluster(folder: newFolder(label), port: nil, bin: bin, removeWithProcess: true)
    }

    public var description: String { "PostgreSQL cluster in \(folder.path)" }

    // MARK: - Databases

    /// A fresh, empty database with a unique name (`prefix_` and 16 hex digits) owned by the role `kefu`; its URL,
    /// `postgres://kefu:PASSWORD@127.0.0.1:PORT/NAME`. Starts the cluster if it never was.
    public func makeDatabase(_ prefix: String = "t") throws -> String {
        guard prefix.range(of: "^[a-z][a-z0-9_]{0,39}$", options: .regularExpression) != nil else {
            throw Failure(description: "makeDatabase: the prefix '\(prefix)' must be a lowercase letter, then at most 39 lowercase letters, digits or _")
        }
        let name = prefix + "_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        try query("CREATE DATABASE \(name) OWNER kefu")
        return try url(database: name)
    }

    /// The URL of `database` for the role `kefu` (over TCP, with the password). Starts the cluster if it never was.
    public func url(database: String = "kefu") throws -> String {
        try startIfNeverStarted()
        let (port, password) = state.withLock { ($0.port, $0.password) }
        return "postgres://kefu:\(password)@127.0.0.1:\(port)/\(database)"
    }

    /// The port the cluster listens on (the same across restarts). Starts the cluster if it never was.
    public var port: Int {
        get throws {
            try startIfNeverStarted()
            return state.withLock { $0.port }
        }
    }

    /// The password of the role `kefu`. Starts the cluster if it never was.
    public var password: String {
        get throws {
            try startIfNeverStarted()
            return state.withLock { $0.password }
        }
    }

    /// Runs SQL as the superuser over the unix socket (psql, unaligned, tuples only) and returns its output without the
    /// final newline, e.g. `try cluster.query("SELECT count(*) FROM pg_stat_activity WHERE datname = 'x'")`.
    @discardableResult
    public func query(_ sql: String, database: String = "postgres") throws -> String {
        try startIfNeverStarted()
        let (port, binFolder) = state.withLock { ($0.port, $0.binFolder) }
        let output = try TestSupport.run(binFolder.appendingPathComponent("psql"),
                                         ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", folder.path, "-p", "\(port)",
                                          "-U", "postgres", "-d", database, "-c", sql],
                                         environment: ["PGCONNECT_TIMEOUT": "10"])
        guard output.status == 0 else {
            throw Failure(description: "psql on \(folder.path) (port \(port)) failed (exit \(output.status)) for `\(sql)`: "
                + output.err.trimmingCharacters(in: .whitespacesAndNewlines)
                + (isRunning ? "" : " — the cluster is stopped (start() it)"))
        }
        return output.out.hasSuffix("\n") ? String(output.out.dropLast()) : output.out
    }

    // MARK: - The server

    /// Whether the server accepts connections on its port now.
    public var isRunning: Bool {
        let (started, port, binFolder) = state.withLock { ($0.started, $0.port, $0.binFolder) }
        guard started,
              let ready = try? TestSupport.run(binFolder.appendingPathComponent("pg_isready"),
                                               ["-q", "-h", "127.0.0.1", "-p", "\(port)", "-d", "postgres", "-t", "2"], environment: [:])
        else { return false }
        return ready.status == 0
    }

    /// Creates the cluster if its folder has none, and starts it (on the port it had before, if it was started before);
    /// returns once it accepts connections. Nothing happens when it is running.
    public func start() throws {
        try state.withLock { state in try start(&state) }
    }

    /// Stops the server; `port`, `password` and the data stay for the next `start()`.
    public func stop(mode: StopMode = .fast) throws {
        try state.withLock { state in
            guard state.started else { return }
            try script(["stop", folder.path, mode.rawValue])
        }
    }

    /// Stops the server and starts it again on the same port with the same data.
    public func restart(mode: StopMode = .fast) throws {
        try state.withLock { state in
            if state.started { try script(["stop", folder.path, mode.rawValue]) }
            try start(&state)
        }
    }

    // MARK: - Internals

    private func startIfNeverStarted() throws {
        try state.withLock { state in if !state.started { try start(&state) } }
    }

    private func start(_ state: inout State) throws {
        var arguments = ["start", folder.path]
        if !state.started, let requestedPort { arguments.append("\(requestedPort)") }
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent("data/PG_VERSION").path) == false {
            arguments += ["--template", try Self.template(bin: bin).path]
        }
        arguments += ["--owner", "\(getpid())"]
        if removeWithProcess { arguments.append("--remove") }
        try script(arguments)
        func read(_ name: String) throws -> String {
            try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let port = Int(try read("port")) else { throw Failure(description: "\(folder.path)/port holds no port number") }
        state.port = port
        state.password = try read("password")
        state.binFolder = URL(fileURLWithPath: try read("bin"))
        state.started = true
    }

    @discardableResult
    private func script(_ arguments: [String]) throws -> String {
        try Self.script(arguments, bin: bin)
    }

    private static func script(_ arguments: [String], bin: URL?) throws -> String {
        var environment = ProcessInfo.processInfo.environment
        if let bin { environment["KEFU_TEST_POSTGRES_BIN"] = bin.path }
        let output = try TestSupport.run(URL(fileURLWithPath: "/bin/bash"),
                                         [TestSupport.root.appendingPathComponent("scripts/postgres").path] + arguments,
                                         environment: environment)
        guard output.status == 0 else {
            // The script's own message says what is wrong (no binaries: run scripts/install-deps; a port taken; the log).
            throw Failure(description: "scripts/postgres \(arguments.prefix(2).joined(separator: " ")) failed (exit \(output.status)): "
                                       + output.err.trimmingCharacters(in: .whitespacesAndNewlines),
                          missingBinaries: output.status == 69)
        }
        return output.out
    }

    /// The process's template cluster per bin folder: initdb once, then each new cluster is a copy.
    private static let templates = Mutex<[String: URL]>([:])

    private static func template(bin: URL?) throws -> URL {
        try templates.withLock { templates in
            let key = bin?.path ?? ""
            if let folder = templates[key] { return folder }
            let folder = newFolder("template")
            try script(["init", folder.path, "--owner", "\(getpid())", "--remove"], bin: bin)
            templates[key] = folder
            return folder
        }
    }

    /// A new folder name under the temporary folder (short: the unix socket's path must stay under 108 bytes).
    private static func newFolder(_ label: String) -> URL {
        let unique = UUID().uuidString.prefix(8).lowercased()
        return FileManager.default.temporaryDirectory.appendingPathComponent("kefu-pg-\(getpid())-\(label)-\(unique)")
    }
}
