import Foundation
import KefuTestSupport
import PostgresNIO
import Testing

/// The throwaway PostgreSQL clusters the store tests run on (KefuTestSupport.PostgresCluster, scripts/postgres),
/// seen through the client the store uses.
@Suite struct ClusterTests {
    @Test func theSharedClusterAnswersOverTCPWithThePasswordOfTheURL() async throws {
        let url = try DatabaseURL(PostgresCluster.shared.makeDatabase("cluster"))
        #expect(url.host == "127.0.0.1")
        #expect(url.username == "kefu")
        let rows = try await withClient(url) { client in
            var rows: [[String]] = []
            let value = "订阅"
            for try await (a, b, c) in try await client.query("SELECT \(value)::text, current_user::text, current_database()::text")
                .decode((String, String, String).self) { rows.append([a, b, c]) }
            return rows
        }
        #expect(rows == [["订阅", "kefu", url.database]])
    }

    @Test func makeDatabaseGivesDistinctEmptyDatabasesOwnedByKefu() async throws {
        let cluster = PostgresCluster.shared
        let a = try DatabaseURL(cluster.makeDatabase()), b = try DatabaseURL(cluster.makeDatabase())
        #expect(a.database != b.database)
        #expect(a.database.hasPrefix("t_"))
        #expect(try cluster.query("SELECT datdba::regrole FROM pg_database WHERE datname = '\(a.database)'") == "kefu")
        try await withConnection(a) { connection in
            try await connection.query("CREATE TABLE marker (x int)", logger: logger)
        }
        let seen = try await withConnection(b) { connection in
            var names: [String] = []
            for try await (name,) in try await connection.query("SELECT relname::text FROM pg_class WHERE relname = 'marker'", logger: logger)
                .decode((String,).self) { names.append(name) }
            return names
        }
        #expect(seen.isEmpty, "a table made in \(a.database) is not in \(b.database)")
        #expect(try cluster.query("SELECT count(*) FROM pg_class WHERE relname = 'marker'", database: a.database) == "1")

        let error = #expect(throws: PostgresCluster.Failure.self) { try cluster.makeDatabase("Bad-Name") }
        #expect(error?.description.contains("'Bad-Name'") == true)
    }

    @Test func aClusterOfItsOwnStopsAndRestartsOnTheSamePortWithItsData() async throws {
        let cluster = PostgresCluster.temporary("restart")
        let url = try DatabaseURL(cluster.makeDatabase("restart"))
        let port = try cluster.port
        #expect(url.port == port)
        #expect(port != (try PostgresCluster.shared.port))
        try await withConnection(url) { connection in
            try await connection.query("CREATE TABLE kept (note text)", logger: logger)
            try await connection.query("INSERT INTO kept VALUES ('before the crash')", logger: logger)
        }
        let open = try await connect(url)

        try cluster.stop(mode: .immediate)
        #expect(!cluster.isRunning)
        await #expect(throws: (any Error).self, "nothing listens on the port while it is stopped") { try await connect(url).close() }
        // A connection from before the stop is closed (not queried: postgres-nio 1.33.2's query on a connection the server
        // closed never returns, and ignores cancellation).
        let deadline = ContinuousClock.now + .seconds(10)
        while !open.isClosed && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(open.isClosed, "a connection from before the stop is closed")
        try? await open.close()

        try cluster.start()
        #expect(cluster.isRunning)
        #expect(try cluster.port == port)
        #expect(try await notes(url) == ["before the crash"], "a committed row survives an immediate stop")

        try cluster.restart(mode: .fast)
        #expect(try cluster.port == port)
        #expect(try await notes(url) == ["before the crash"])
    }

    @Test func aWrongPasswordIsRefusedAndTheSuperuserHasNoTCPLogin() async throws {
        let url = try DatabaseURL(PostgresCluster.shared.url())
        let wrong = await #expect(throws: PSQLError.self) { try await connect(url, password: "not-the-password").close() }
        #expect(wrong?.serverInfo?[.sqlState] == "28P01")  // invalid_password
        let superuser = await #expect(throws: PSQLError.self) {
            try await connect(url, username: "postgres", password: "postgres").close()
        }
        #expect(superuser?.serverInfo?[.sqlState] == "28P01")
        try await connect(url).close()
    }

    @Test func aTakenPortIsAClearError() throws {
        let taken = try PostgresCluster.shared.port
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-pg-\(getpid())-taken-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let cluster = PostgresCluster(folder: folder, port: taken)
        let error = #expect(throws: PostgresCluster.Failure.self) { try cluster.start() }
        #expect(error?.description.contains("port \(taken) on 127.0.0.1 is taken") == true, "\(String(describing: error))")
    }

    @Test func withoutPostgreSQLBinariesStartFailsSayingWhatToInstall() throws {
        let cluster = PostgresCluster.temporary("nobin", bin: URL(fileURLWithPath: "/nonexistent/postgresql/bin"))
        let error = #expect(throws: PostgresCluster.Failure.self) { try cluster.start() }
        #expect(error?.missingBinaries == true)
        #expect(error?.description.contains("scripts/install-deps") == true, "\(String(describing: error))")
        #expect(!cluster.isRunning)
    }
}

// MARK: - Helpers

private let logger: Logger = {
    var logger = Logger(label: "cluster-tests")
    logger.logLevel = .critical
    return logger
}()

/// postgres://USER:PASSWORD@HOST:PORT/DATABASE, as PostgresCluster gives it.
struct DatabaseURL: Sendable {
    var host: String, port: Int, username: String, password: String, database: String

    init(_ string: String) throws {
        let components = try #require(URLComponents(string: string))
        #expect(components.scheme == "postgres")
        host = try #require(components.host)
        port = try #require(components.port)
        username = try #require(components.user)
        password = try #require(components.password)
        database = String(components.path.dropFirst())
        #expect(!database.isEmpty)
    }
}

private func connect(_ url: DatabaseURL, username: String? = nil, password: String? = nil) async throws -> PostgresConnection {
    try await PostgresConnection.connect(
        configuration: .init(host: url.host, port: url.port, username: username ?? url.username,
                             password: password ?? url.password, database: url.database, tls: .disable),
        id: 1, logger: logger)
}

private func withConnection<R: Sendable>(_ url: DatabaseURL, _ body: (PostgresConnection) async throws -> R) async throws -> R {
    let connection = try await connect(url)
    do {
        let result = try await body(connection)
        try await connection.close()
        return result
    } catch {
        try? await connection.close()
        throw error
    }
}

/// A PostgresClient (the pool the store uses) running for the duration of `body`.
private func withClient<R: Sendable>(_ url: DatabaseURL, _ body: @escaping @Sendable (PostgresClient) async throws -> R) async throws -> R {
    let client = PostgresClient(configuration: .init(host: url.host, port: url.port, username: url.username,
                                                     password: url.password, database: url.database, tls: .disable))
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        return try await body(client)
    }
}

private func notes(_ url: DatabaseURL) async throws -> [String] {
    try await withConnection(url) { connection in
        var notes: [String] = []
        for try await (note,) in try await connection.query("SELECT note FROM kept", logger: logger).decode((String,).self) { notes.append(note) }
        return notes
    }
}

