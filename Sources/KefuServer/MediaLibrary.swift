import Crypto
import Foundation
import KefuDialogue
import KefuRules
import KefuStore
import KefuWeChatAPI
import Logging
import Synchronization

/// The media_ids of the rule set's files (`image: {file: media/menu.jpg}`). WeChat keeps temporary
/// media 3 days, so each file is uploaded at start (or when it changed, or its id is older than
/// 2½ days) and kept with the time of its upload — in the SQLite store too, so a restart reuses
/// it. A reply whose file has no valid id yet goes out through the outbox, which uploads it first;
/// a send refused with 40007 (the id expired early) uploads again once.
final class MediaLibrary: MediaResolver {
    struct Upload: Sendable, Equatable {
        var mediaID: String
        var uploadedAt: Int64
        /// SHA-256 of the bytes uploaded: a changed file is uploaded again.
        var digest: String
    }

    /// WeChat's life of temporary media, and how long before its end an id is replaced.
    static let life: Int64 = 3 * 86_400
    static let margin: Int64 = 12 * 3_600

    private let uploads = Mutex<[String: Upload]>([:])
    let client: WeChatAPIClient
    let store: SQLiteStore?
    let logger: Logger
    let now: @Sendable () -> Int64

    init(client: WeChatAPIClient, store: SQLiteStore?, logger: Logger, now: @escaping @Sendable () -> Int64) {
        self.client = client; self.store = store; self.logger = logger; self.now = now
        if let saved = try? store?.mediaUploads() {
            uploads.withLock { for row in saved { $0[row.path] = Upload(mediaID: row.mediaID, uploadedAt: row.uploadedAt, digest: row.digest) } }
        }
    }

    func mediaID(for file: MediaFile) -> String? {
        guard let upload = uploads.withLock({ $0[file.path] }), now() < upload.uploadedAt + Self.life - Self.margin else { return nil }
        return upload.mediaID
    }

    /// Uploads the file now (its bytes from the rule set) and keeps the id.
    @discardableResult
    func upload(_ file: MediaFile, from rules: CompiledRules) async throws -> String {
        guard let bytes = rules.contents(of: file) else { throw MissingFile(file: file) }
        let kind: MediaKind = switch file.kind { case .image: .image; case .voice: .voice; case .video: .video }
        let uploaded = try await client.uploadMedia(bytes, kind: kind, filename: URL(fileURLWithPath: file.path).lastPathComponent)
        let upload = Upload(mediaID: uploaded.mediaID, uploadedAt: now(), digest: Self.digest(bytes))
        uploads.withLock { $0[file.path] = upload }
        try? store?.saveMediaUpload(path: file.path, mediaID: upload.mediaID, uploadedAt: upload.uploadedAt, digest: upload.digest)
        logger.info("uploaded a media file of the rule set", metadata: ["file": .string(file.path), "kind": .string(file.kind.rawValue)])
        return upload.mediaID
    }

    /// Uploads every file of the rule set that has no fresh id, or changed since its upload.
    func refresh(_ rules: CompiledRules) async {
        for file in rules.mediaFiles {
            let known = uploads.withLock { $0[file.path] }
            let fresh = known.map { now() < $0.uploadedAt + Self.life - Self.margin } ?? false
            if fresh, let known, let bytes = rules.contents(of: file), Self.digest(bytes) == known.digest { continue }
            do { try await upload(file, from: rules) } catch {
                logger.error("could not upload a media file of the rule set; replies with it wait in the outbox",
                             metadata: ["file": .string(file.path), "error": .string("\(error)")])
            }
        }
    }

    struct MissingFile: Error, CustomStringConvertible {
        let file: MediaFile
        var description: String { "the \(file.kind.rawValue) file \(file.path) is no longer in the rule-set folder" }
    }

    /// Forgets an id WeChat no longer knows (40007).
    func forget(_ file: MediaFile) { uploads.withLock { _ = $0.removeValue(forKey: file.path) } }

    static func digest(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}

/// Without the API there are no uploads: a file part never has a media_id (it waits in the outbox).
struct NoMedia: MediaResolver {
    func mediaID(for file: MediaFile) -> String? { nil }
}
