import Foundation
import GRDB

/// Uploaded media of the rule set (temporary media_ids, 3 days), so a restart reuses them.
extension SQLiteStore {
    public struct MediaUpload: Sendable, Equatable {
        public var path: String
        public var mediaID: String
        public var uploadedAt: Int64
        public var digest: String
    }

    static func registerMediaMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v7: uploaded media of the rule set") { db in
            try db.create(table: "media_upload") { t in
                t.primaryKey("path", .text)
                t.column("media_id", .text).notNull()
                t.column("uploaded_at", .integer).notNull()
                t.column("digest", .text).notNull()
            }
        }
    }

    public func mediaUploads() throws -> [MediaUpload] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM media_upload").map {
                MediaUpload(path: $0["path"], mediaID: $0["media_id"], uploadedAt: $0["uploaded_at"], digest: $0["digest"])
            }
        }
    }

    public func saveMediaUpload(path: String, mediaID: String, uploadedAt: Int64, digest: String) throws {
        try pool.write { db in
            try db.execute(sql: "INSERT OR REPLACE INTO media_upload (path, media_id, uploaded_at, digest) VALUES (?, ?, ?, ?)",
                           arguments: [path, mediaID, uploadedAt, digest])
        }
    }
}
