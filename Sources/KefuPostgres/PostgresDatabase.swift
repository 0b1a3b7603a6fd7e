import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// Resumes a continuation with the first result given, once.
final class FirstResult<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, any Error>?>
    init(_ continuation: CheckedContinuation<T, any Error>) { self.continuation = Mutex(continuation) }
    func finish(_ result: Result<T, any Error>) {
        let waiting = continuation.withLock { c -> CheckedContinuation<T, any Error>? in defer { c = nil }; return c }
        waiting?.resume(with: result)
    }
}

/// A query's task, cancelled at its deadline or when the caller is (also if that comes before the task is known).
final class RunningQuery: Sendable {
    private let state = Mutex<(task: Task<Void, Never>?, cancelled: Bool)>((nil, false))
    func start(_ task: Task<Void, Never>) {
        let cancelled = state.withLock { s -> Bool in s.task = task; return s.cancelled }
        if cancelled { task.cancel() }
    }
    func cancel() {
        let task = state.withLock { s -> Task<Void, Never>? in s.cancelled = true; return s.task }
        task?.cancel()
    }
}

/// One PostgreSQL database shared by every `kefu serve` instance of a deployment: the connection
/// pool of this process, the schema (migrated at start, safely when several instances start at
/// once), this instance's entry in the instance table, and a deadline on every query.
///
/// Every account of the deployment uses the same database (``PostgresStore`` is one account's view
/// of it: every row carries its account).
public final class PostgresDatabase: Sendable {
    public let location: PostgresLocation
    /// This process: a random id, registered in `kefu_instance` with a heartbeat.
    public let instance: String
    let client: PostgresClient
    private let runner: Task<Void, Never>
    let logger: Logger
    /// The most a query may take, the server's `statement_timeout` included (a bit more on this side).
    public let queryTimeout: Duration

    /// A query did not finish within ``queryTimeout`` (the database is down, overloaded or locked).
    public struct Timeout: Error, CustomStringConvertible {
        public let seconds: Double
        public let location: String
        public var description: String { "PostgreSQL at \(location) did not answer within \(seconds) s" }
    }

    /// Could not reach the database at start.
    public struct Unreachable: Error, CustomStringConvertible {
        public let description: String
    }

    /// Connects (lazily: the pool opens connections as queries need them) — call ``prepare(wait:)`` next.
    public init(_ location: PostgresLocation, queryTimeout: Duration = .seconds(3), logger: Logger = Logger(label: "kefu.postgres")) {
        self.location = location
        self.queryTimeout = queryTimeout
        self.logger = logger
        instance = Self.makeInstanceID()
        var configuration = PostgresClient.Configuration(host: location.host, port: location.port, username: location.username,
                                                         password: location.password, database: location.database,
                                                         tls: location.requireTLS ? .require(.makeClientConfiguration()) : .disable)
        configuration.options.maximumConnections = location.poolSize
        configuration.options.connectTimeout = .seconds(2)
        let ms = Int(queryTimeout.components.seconds * 1000 + queryTimeout.components.attoseconds / 1_000_000_000_000_000)
        configuration.options.additionalStartupParameters = [
            ("statement_timeout", "\(max(ms - 250, 100))"), ("lock_timeout", "\(max(ms - 500, 100))"),
            ("idle_in_transaction_session_timeout", "10000"), ("application_name", "kefu"),
        ]
        client = PostgresClient(configuration: configuration, backgroundLogger: Logger(label: "kefu.postgres.pool", factory: { _ in SwiftLogNoOpLogHandler() }))
        let client = self.client
        runner = Task { await client.run() }
    }

    deinit { runner.cancel() }

    /// Stops the pool (its connections close).
    public func close() { runner.cancel() }

    static func makeInstanceID() -> String {
        let host = ProcessInfo.processInfo.hostName.prefix(40)
        let random = (0..<6).map { _ in String(UInt8.random(in: 0...255), radix: 16) }.joined()
        return "\(host)-\(getpid())-\(random)"
    }

    /// Runs `body` within the query deadline: a database that does not answer costs at most that long.
    /// The caller is released at the deadline even if the query never notices its cancellation
    /// (postgres-nio can wait forever on a connection the server dropped): the query's task is
    /// cancelled and left to end by itself.
    func timed<T: Sendable>(within limit: Duration? = nil, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let timeout = limit ?? queryTimeout, shown = location.description
        // The deadline is a callback scheduled on an event loop, and the query's task hands its own result over:
        // one task a query (a sleeping timer task and a waiting task cost about 5% of a message's CPU).
        let running = RunningQuery()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let race = FirstResult(continuation)
                let (s, a) = timeout.components
                let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: .nanoseconds(s * 1_000_000_000 + a / 1_000_000_000)) {
                    running.cancel()
                    race.finish(.failure(Timeout(seconds: Double(s) + Double(a) / 1e18, location: shown)))
                }
                running.start(Task {
                    let result: Result<T, any Error>
                    do { result = .success(try await body()) } catch { result = .failure(error) }
                    timer.cancel()
                    race.finish(result)
                })
            }
        } onCancel: {
            running.cancel()
        }
    }

    /// Runs a statement, discarding its rows.
    func execute(_ query: PostgresQuery) async throws {
        let client = self.client
        try await timed {
            let rows = try await client.query(query)
            for try await _ in rows {}
        }
    }

    /// Runs a statement in one transaction with the others `body` runs on the same connection.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let client = self.client, logger = self.logger
        return try await timed {
            try await client.withConnection { connection in
                _ = try await connection.query("BEGIN", logger: logger)
                do {
                    let value = try await body(connection)
                    _ = try await connection.query("COMMIT", logger: logger)
                    return value
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw error
                }
            }
        }
    }

    /// Reaches the database and migrates the schema. `wait`: how long to keep trying while the
    /// database cannot be reached (0: fail at the first refusal, naming the location).
    /// `register`: enter this process in the instance table (servers; tools that only read or share the token do not).
    public func prepare(wait: Duration = .zero, register registering: Bool = true) async throws {
        let deadline = ContinuousClock.now + wait
        var pause = Duration.milliseconds(200)
        while true {
            do {
                try await probe()
                try await migrate()
                if registering { try await register() }
                return
            } catch let error where ContinuousClock.now + pause < deadline && Self.isConnectionProblem(error) {
                logger.notice("PostgreSQL is not reachable yet; trying again", metadata: ["store": .string(location.description),
                                                                                          "error": .string(Self.describe(error))])
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(5))
            } catch {
                throw Unreachable(description: "cannot use PostgreSQL at \(location): \(Self.describe(error)). "
                                  + (Self.isConnectionProblem(error) ? "Start it, check the URL, or give --store-wait SECONDS to wait for it." : ""))
            }
        }
    }

    /// One connection of its own, opened and closed: the pool would keep retrying in silence, this
    /// says at once why the database cannot be used (refused, unknown host, wrong password …).
    func probe() async throws {
        let location = self.location
        var configuration = PostgresConnection.Configuration(host: location.host, port: location.port, username: location.username,
                                                             password: location.password, database: location.database,
                                                             tls: location.requireTLS ? .require(try .init(configuration: .makeClientConfiguration())) : .disable)
        configuration.options.connectTimeout = .seconds(3)
        let (logger, fixed) = (self.logger, configuration)
        try await timed(within: max(.seconds(5), queryTimeout)) {
            let connection = try await PostgresConnection.connect(configuration: fixed, id: 0, logger: logger)
            try? await connection.close()
        }
    }

    static func isConnectionProblem(_ error: any Error) -> Bool {
        if error is Timeout { return true }
        if let psql = error as? PSQLError {
            switch psql.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown: return true
            case .server:
                // 57P03: the database system is starting up / shutting down.
                let state = psql.serverInfo?[.sqlState] ?? ""
                return state.hasPrefix("57P") || state.hasPrefix("08")
            default: return false
            }
        }
        return false
    }

    /// One line for logs and errors: the server's message, or the connection problem (never the password).
    public static func describe(_ error: any Error) -> String {
        if let psql = error as? PSQLError {
            if let info = psql.serverInfo {
                return "\(info[.message] ?? "server error") (SQLSTATE \(info[.sqlState] ?? "?"))"
            }
            if let underlying = psql.underlying { return "\(psql.code): \(underlying)" }
            return "\(psql.code)"
        }
        return "\(error)"
    }

    // MARK: instances

    /// Adds this process to the instance table (its heartbeat starts now).
    func register() async throws {
        let now = Int64(Date().timeIntervalSince1970), host = ProcessInfo.processInfo.hostName, pid = Int64(getpid())
        try await execute("""
            INSERT INTO kefu_instance (id, host, pid, started_at, heartbeat_at, rules) VALUES (\(instance), \(host), \(pid), \(now), \(now), '{}'::jsonb)
            ON CONFLICT (id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at
            """)
    }

    /// This instance is alive and serves these rule-set versions (account → version); old entries of
    /// instances silent for an hour go.
    public func heartbeat(rules: [String: String], at time: Int64) async throws {
        let json = String(decoding: try JSONEncoder().encode(rules), as: UTF8.self)
        try await execute("""
            INSERT INTO kefu_instance (id, host, pid, started_at, heartbeat_at, rules)
            VALUES (\(instance), \(ProcessInfo.processInfo.hostName), \(Int64(getpid())), \(time), \(time), \(json)::jsonb)
            ON CONFLICT (id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at, rules = EXCLUDED.rules
            """)
        try await execute("DELETE FROM kefu_instance WHERE heartbeat_at < \(time - 3600)")
    }

    /// An instance seen lately.
    public struct InstanceStatus: Sendable, Equatable {
        public var id: String
        public var host: String
        public var pid: Int64
        public var startedAt: Int64
        public var heartbeatAt: Int64
        public var rules: [String: String]
        public var alive: Bool
    }

    /// The instances of the deployment (alive: a heartbeat within ``liveness`` seconds).
    public func instances(at time: Int64) async throws -> [InstanceStatus] {
        let client = self.client
        return try await timed {
            var result: [InstanceStatus] = []
            let rows = try await client.query("SELECT id, host, pid, started_at, heartbeat_at, rules::text FROM kefu_instance ORDER BY started_at, id")
            for try await (id, host, pid, started, beat, rules) in rows.decode((String, String, Int64, Int64, Int64, String).self) {
                let versions = (try? JSONDecoder().decode([String: String].self, from: Data(rules.utf8))) ?? [:]
                result.append(InstanceStatus(id: id, host: host, pid: pid, startedAt: started, heartbeatAt: beat, rules: versions,
                                             alive: beat >= time - Self.liveness))
            }
            return result
        }
    }

    /// Seconds without a heartbeat after which an instance counts as gone (its rows in flight are recovered).
    public static let liveness: Int64 = 30
}
