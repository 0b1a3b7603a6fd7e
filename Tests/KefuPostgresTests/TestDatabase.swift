import Foundation
import KefuTestSupport

/// A fresh database on the test cluster.
enum TestDatabase {
    static func make() throws -> String {
        // Interim (until KefuTestSupport.PostgresCluster lands): KEFU_TEST_POSTGRES_URL names a server; a database is made per call.
        guard let base = ProcessInfo.processInfo.environment["KEFU_TEST_POSTGRES_URL"] else { fatalError("KEFU_TEST_POSTGRES_URL") }
        let name = "t\(UInt64.random(in: 0...UInt64.max))"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = [base, "-q", "-c", "CREATE DATABASE \(name)"]
        try process.run()
        process.waitUntilExit()
        return base.replacingOccurrences(of: "/postgres", with: "/\(name)")
    }
}
