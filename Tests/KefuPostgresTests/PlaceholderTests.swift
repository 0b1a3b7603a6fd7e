import Testing
@testable import KefuPostgres

@Suite struct PostgresPlaceholder { @Test func builds() { #expect(Bool(true)) } }
