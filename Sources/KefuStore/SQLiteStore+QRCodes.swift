import Foundation
import GRDB

/// QR codes made with `kefu qr create`, so that lint can tell which scenes have a code.
extension SQLiteStore {
    public struct QRCodeRecord: Sendable, Equatable {
        public var scene: String
        public var ticket: String
        public var url: String
        /// nil: permanent.
        public var expiresAt: Int64?
        public var createdAt: Int64
    }

    static func registerQRCodeMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6: QR codes made by kefu qr create") { db in
            try db.create(table: "qr_code") { t in
                t.primaryKey("ticket", .text)
                t.column("scene", .text).notNull().indexed()
                t.column("url", .text).notNull()
                t.column("expires_at", .integer)
                t.column("created_at", .integer).notNull()
            }
        }
    }

    public func recordQRCode(scene: String, ticket: String, url: String, expiresAt: Int64?, at time: Int64) throws {
        try pool.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO qr_code (ticket, scene, url, expires_at, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [ticket, scene, url, expiresAt, time])
        }
    }

    public func qrCodes() throws -> [QRCodeRecord] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM qr_code ORDER BY created_at, scene").map {
                QRCodeRecord(scene: $0["scene"], ticket: $0["ticket"], url: $0["url"], expiresAt: $0["expires_at"], createdAt: $0["created_at"])
            }
        }
    }

    /// Scenes with a code that has not expired at `time`.
    public func liveQRScenes(at time: Int64) throws -> Set<String> {
        Set(try qrCodes().filter { ($0.expiresAt ?? .max) > time }.map(\.scene))
    }
}
