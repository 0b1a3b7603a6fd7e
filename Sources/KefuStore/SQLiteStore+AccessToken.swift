import GRDB
import KefuWeChatAPI

/// The account's access token, shared by every process that opens the file (`kefu serve` and the
/// tools beside it). Each write is one transaction that reads the stored token and writes only if
/// it is still the one the caller expected (compare-and-set), so a process never overwrites a token
/// another process saved after it last looked. GRDB's `write` begins IMMEDIATE, so two processes'
/// transactions are serialised by SQLite's write lock (with the store's 5 s busy timeout).
extension SQLiteStore: AccessTokenStore {
    static func registerAccessTokenMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4: the shared access token") { db in
            try db.create(table: "access_token") { t in
                t.primaryKey("app_id", .text)
                t.column("token", .text).notNull()
                t.column("expires_at", .integer).notNull()
                t.column("fetched_at", .integer).notNull()
            }
        }
    }

    static func accessToken(_ appID: String, _ db: Database) throws -> AccessTokenRecord? {
        try Row.fetchOne(db, sql: "SELECT token, expires_at, fetched_at FROM access_token WHERE app_id = ?", arguments: [appID]).map {
            AccessTokenRecord(token: $0["token"], expiresAt: $0["expires_at"], fetchedAt: $0["fetched_at"])
        }
    }

    public func accessToken(for appID: String) async throws -> AccessTokenRecord? {
        try await pool.read { db in try Self.accessToken(appID, db) }
    }

    public func saveAccessToken(_ record: AccessTokenRecord, for appID: String, replacing expected: String?) async throws -> AccessTokenRecord {
        try await pool.write { db in
            let stored = try Self.accessToken(appID, db)
            let matches: Bool
            if let expected {
                matches = stored?.token == expected
            } else {
                matches = stored.map { $0.expiresAt <= record.fetchedAt } ?? true
            }
            guard matches else { return stored ?? record }
            try db.execute(sql: """
                INSERT INTO access_token (app_id, token, expires_at, fetched_at) VALUES (?, ?, ?, ?)
                ON CONFLICT(app_id) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at, fetched_at = excluded.fetched_at
                """, arguments: [appID, record.token, record.expiresAt, record.fetchedAt])
            return record
        }
    }

    public func expireAccessToken(_ token: String, for appID: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "UPDATE access_token SET expires_at = 0 WHERE app_id = ? AND token = ?", arguments: [appID, token])
            return db.changesCount > 0
        }
    }
}
