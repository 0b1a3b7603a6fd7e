import KefuTestSupport

/// A fresh, empty database on the test cluster.
enum TestDatabase {
    static func make() throws -> String { try PostgresCluster.shared.makeDatabase("instances") }

    /// Generous: `swift test` runs suites whose synchronous tests block the few threads of the concurrency
    /// pool for a long time, and a deadline that fires late must not fail a query that answered.
    static let queryTimeout: Duration = .seconds(300)
}
