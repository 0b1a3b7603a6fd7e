import KefuTestSupport

/// A fresh, empty database on the test cluster.
enum TestDatabase {
    static func make() throws -> String { try PostgresCluster.shared.makeDatabase("instances") }
}
