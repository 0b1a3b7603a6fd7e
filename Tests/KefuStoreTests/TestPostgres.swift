import Foundation
import KefuPostgres
import KefuTestSupport

/// A PostgreSQL store on a fresh database of the test cluster (KefuTestSupport.PostgresCluster).
enum TestPostgres {
    static func database() async throws -> PostgresDatabase {
        // A generous deadline: `swift test` runs suites whose synchronous tests block the few threads of the
        // concurrency pool for a long time, and a deadline that fires late must not fail a query that answered.
        let database = PostgresDatabase(try PostgresLocation(try PostgresCluster.shared.makeDatabase("store")), queryTimeout: .seconds(300))
        try await database.prepare()
        return database
    }

    static func store(account: String = "default") async throws -> PostgresStore {
        PostgresStore(database: try await database(), account: account)
    }
}
