import Foundation
import KefuPostgres
import KefuTestSupport

/// A PostgreSQL store on a fresh database of the test cluster (KefuTestSupport.PostgresCluster).
enum TestPostgres {
    static func database() async throws -> PostgresDatabase {
        let database = PostgresDatabase(try PostgresLocation(try PostgresCluster.shared.makeDatabase("store")))
        try await database.prepare()
        return database
    }

    static func store(account: String = "default") async throws -> PostgresStore {
        PostgresStore(database: try await database(), account: account)
    }
}
