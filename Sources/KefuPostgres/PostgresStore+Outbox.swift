import Foundation
import KefuDialogue
import KefuWeChatAPI
import NIOCore
import PostgresNIO

/// The outbox, the customer-service windows and the shared access token in PostgreSQL.
extension PostgresStore: AccessTokenStore {
    static let entryColumns = "id, user_id, kind, due, not_after, flow, name, content::text, state, attempts, created_at, updated_at, detail, msgid, delivery"

    typealias EntryRow = (Int64, String, String, Int64, Int64?, String?, String?, String, String, Int32, Int64, Int64, String?, Int64?, String?)

    static func entry(_ r: EntryRow) throws -> OutboxEntry {
        let content = try JSONDecoder().decode(OutboundContent.self, from: Data(r.7.utf8))
        let message = OutboxMessage(user: r.1, kind: OutboxMessage.Kind(rawValue: r.2) ?? .part, due: r.3, notAfter: r.4, flow: r.5, name: r.6,
                                    content: content)
        return OutboxEntry(id: r.0, message: message, state: OutboxState(rawValue: r.8) ?? .unknown, attempts: Int(r.9), createdAt: r.10,
                           updatedAt: r.11, detail: r.12, msgid: r.13, delivery: r.14)
    }

    func entries(_ query: PostgresQuery) async throws -> [OutboxEntry] {
        let client = self.client
        return try await database.timed {
            var result: [OutboxEntry] = []
            for try await row in try await client.query(query).decode(EntryRow.self) { result.append(try Self.entry(row)) }
            return result
        }
    }

    public func window(for user: String) async throws -> ServiceWindow {
        let (client, account) = (self.client, self.account)
        return try await database.timed {
            let rows = try await client.query("""
                SELECT message_at, message_sent, event_at, event_sent FROM kefu_window WHERE account = \(account) AND user_id = \(user)
                """)
            for try await (messageAt, messageSent, eventAt, eventSent) in rows.decode((Int64?, Int32, Int64?, Int32).self) {
                return ServiceWindow(messageAt: messageAt, messageSent: Int(messageSent), eventAt: eventAt, eventSent: Int(eventSent))
            }
            return ServiceWindow()
        }
    }

    public func dueOutbox(at time: Int64, limit: Int) async throws -> [OutboxEntry] {
        // A short lease on the batch: another instance's worker skips these rows (and rows locked right now).
        let query: PostgresQuery = """
            UPDATE kefu_outbox SET leased_until = \(time + workLease), owner = \(owner) WHERE id IN (
                SELECT id FROM kefu_outbox WHERE account = \(account) AND state = 'pending' AND due <= \(time)
                  AND (leased_until <= \(time) OR owner = \(owner))
                ORDER BY id LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
            RETURNING \(unescaped: Self.entryColumns)
            """
        return try await entries(query).sorted { $0.id < $1.id }
    }

    public func beginSending(_ id: Int64, at time: Int64) async throws -> Bool {
        try await deleted("""
            UPDATE kefu_outbox SET state = 'sending', attempts = attempts + 1, updated_at = \(time), owner = \(owner), leased_until = 0
            WHERE id = \(id) AND account = \(account) AND state = 'pending' RETURNING 1
            """) == 1
    }

    public func claimCall(_ id: Int64, until: Int64, at time: Int64) async throws -> Bool {
        try await deleted("""
            UPDATE kefu_outbox SET due = \(until), updated_at = \(time), owner = \(owner), leased_until = 0
            WHERE id = \(id) AND account = \(account) AND kind = 'call' AND state = 'pending' AND due <= \(time) RETURNING 1
            """) == 1
    }

    static func callUpdate(_ update: CallUpdate, account: String, user: String, at time: Int64) -> PostgresQuery {
        let (state, due, detail) = update.row
        return """
            UPDATE kefu_outbox SET state = \(state), due = COALESCE(\(due), due), detail = \(detail), attempts = attempts + 1, updated_at = \(time),
                leased_until = 0
            WHERE account = \(account) AND user_id = \(user) AND kind = 'call' AND name = \(update.key) AND state = 'pending'
            """
    }

    public func finishSending(_ id: Int64, _ result: OutboxResult, at time: Int64) async throws {
        let account = self.account
        switch result {
        case .sent(let msgid):
            try await database.transaction { connection in
                let rows = try await connection.query("""
                    UPDATE kefu_outbox SET state = 'sent', msgid = \(msgid), detail = NULL, updated_at = \(time) WHERE id = \(id) AND account = \(account)
                    RETURNING \(unescaped: Self.entryColumns)
                    """, logger: Self.quiet)
                var entry: OutboxEntry?
                for try await row in rows.decode(EntryRow.self) { entry = try Self.entry(row) }
                guard let entry, entry.message.needsWindow else { return }
                let user = entry.message.user
                var window = ServiceWindow()
                let found = try await connection.query("""
                    SELECT message_at, message_sent, event_at, event_sent FROM kefu_window WHERE account = \(account) AND user_id = \(user) FOR UPDATE
                    """, logger: Self.quiet)
                for try await (messageAt, messageSent, eventAt, eventSent) in found.decode((Int64?, Int32, Int64?, Int32).self) {
                    window = ServiceWindow(messageAt: messageAt, messageSent: Int(messageSent), eventAt: eventAt, eventSent: Int(eventSent))
                }
                window.use(at: time)
                try await connection.query("""
                    INSERT INTO kefu_window (account, user_id, message_at, message_sent, event_at, event_sent, until)
                    VALUES (\(account), \(user), \(window.messageAt), \(Int64(window.messageSent)), \(window.eventAt), \(Int64(window.eventSent)), \(window.until))
                    ON CONFLICT (account, user_id) DO UPDATE SET message_at = EXCLUDED.message_at, message_sent = EXCLUDED.message_sent,
                        event_at = EXCLUDED.event_at, event_sent = EXCLUDED.event_sent, until = EXCLUDED.until
                    """, logger: Self.quiet)
            }
        case .failed(let why): try await mark(id, "failed", why, time)
        case .unknown(let why): try await mark(id, "unknown", why, time)
        case .skipped(let why): try await mark(id, "skipped", why, time)
        case .retry(let due, let why):
            try await database.execute("""
                UPDATE kefu_outbox SET state = 'pending', due = \(due), detail = \(why), updated_at = \(time), leased_until = 0
                WHERE id = \(id) AND account = \(account)
                """)
        }
    }

    func mark(_ id: Int64, _ state: String, _ detail: String, _ time: Int64) async throws {
        try await database.execute("UPDATE kefu_outbox SET state = \(state), detail = \(detail), updated_at = \(time) WHERE id = \(id) AND account = \(account)")
    }

    public func recoverOutbox(at time: Int64, resendTemplatesWithin: Int64) async throws -> (unknown: Int, resent: Int) {
        // Only rows of instances that stopped beating (or of none): another live instance's sends in flight are its own.
        let (account, alive) = (self.account, time - PostgresDatabase.liveness)
        let stranded = try await entries("""
            SELECT \(unescaped: Self.entryColumns) FROM kefu_outbox
            WHERE account = \(account) AND state = 'sending'
              AND (owner IS NULL OR owner NOT IN (SELECT id FROM kefu_instance WHERE heartbeat_at >= \(alive)))
            """)
        var counts = (unknown: 0, resent: 0)
        for entry in stranded {
            if case .template = entry.message.content, time - entry.updatedAt < resendTemplatesWithin {
                // WeChat sends a template message once per client_msg_id: sending it again is safe.
                counts.resent += try await deleted("""
                    UPDATE kefu_outbox SET state = 'pending', updated_at = \(time) WHERE id = \(entry.id) AND state = 'sending' RETURNING 1
                    """)
            } else {
                counts.unknown += try await deleted("""
                    UPDATE kefu_outbox SET state = 'unknown', updated_at = \(time),
                        detail = 'the server stopped while sending it; WeChat may or may not have delivered it'
                    WHERE id = \(entry.id) AND state = 'sending' RETURNING 1
                    """)
            }
        }
        return counts
    }

    public func outboxStatus(at time: Int64) async throws -> OutboxStatus {
        let (client, account) = (self.client, self.account)
        return try await database.timed {
            var status = OutboxStatus(depth: 0, oldestAge: 0, scheduled: 0, counts: [:])
            let rows = try await client.query("""
                SELECT state, count(*), count(*) FILTER (WHERE state IN ('pending', 'sending') AND due <= \(time)),
                       min(due) FILTER (WHERE state IN ('pending', 'sending') AND due <= \(time)),
                       count(*) FILTER (WHERE state = 'pending' AND due > \(time))
                FROM kefu_outbox WHERE account = \(account) GROUP BY state
                """)
            for try await (state, n, depth, oldest, later) in rows.decode((String, Int64, Int64, Int64?, Int64).self) {
                if let s = OutboxState(rawValue: state) { status.counts[s] = Int(n) }
                status.depth += Int(depth)
                status.scheduled += Int(later)
                if let oldest { status.oldestAge = max(status.oldestAge, time - oldest) }
            }
            return status
        }
    }

    public func callStatus(at time: Int64) async throws -> [String: OutboxStatus] {
        let (client, account) = (self.client, self.account)
        return try await database.timed {
            var status: [String: OutboxStatus] = [:]
            let rows = try await client.query("""
                SELECT content #>> '{call,_0,service}', state, count(*),
                       count(*) FILTER (WHERE state IN ('pending', 'sending') AND due <= \(time)),
                       min(due) FILTER (WHERE state IN ('pending', 'sending') AND due <= \(time)),
                       count(*) FILTER (WHERE state = 'pending' AND due > \(time))
                FROM kefu_outbox WHERE account = \(account) AND kind = 'call' AND (state = 'pending' OR updated_at >= \(time - 86_400))
                GROUP BY 1, 2
                """)
            for try await (service, state, n, depth, oldest, later) in rows.decode((String?, String, Int64, Int64, Int64?, Int64).self) {
                let name = service ?? "?"
                var s = status[name] ?? OutboxStatus(depth: 0, oldestAge: 0, scheduled: 0, counts: [:])
                if let st = OutboxState(rawValue: state) { s.counts[st] = Int(n) }
                s.depth += Int(depth)
                s.scheduled += Int(later)
                if let oldest { s.oldestAge = max(s.oldestAge, time - oldest) }
                status[name] = s
            }
            return status
        }
    }

    public func outboxEntries(for user: String?) async throws -> [OutboxEntry] {
        if let user {
            return try await entries("SELECT \(unescaped: Self.entryColumns) FROM kefu_outbox WHERE account = \(account) AND user_id = \(user) ORDER BY id")
        }
        return try await entries("SELECT \(unescaped: Self.entryColumns) FROM kefu_outbox WHERE account = \(account) ORDER BY id")
    }

    public func recordTemplateFinished(msgid: Int64, status: String, at time: Int64) async throws {
        try await database.execute("UPDATE kefu_outbox SET delivery = \(status), updated_at = \(time) WHERE account = \(account) AND msgid = \(msgid)")
    }

    public func purgeOutbox(before time: Int64, limit: Int) async throws -> Int {
        let gone = try await deleted("""
            DELETE FROM kefu_outbox WHERE id IN (
                SELECT id FROM kefu_outbox WHERE account = \(account) AND state NOT IN ('pending', 'sending') AND updated_at < \(time)
                ORDER BY id LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
            RETURNING 1
            """)
        _ = try await deleted("""
            DELETE FROM kefu_window WHERE (account, user_id) IN (
                SELECT account, user_id FROM kefu_window WHERE account = \(account) AND until < \(time) LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
            RETURNING 1
            """)
        return gone
    }

    // MARK: the access token (one per appid, shared by every instance)

    public func accessToken(for appID: String) async throws -> AccessTokenRecord? {
        let client = self.client
        return try await database.timed {
            let rows = try await client.query("SELECT token, expires_at, fetched_at FROM kefu_access_token WHERE app_id = \(appID)")
            for try await (token, expires, fetched) in rows.decode((String, Int64, Int64).self) {
                return AccessTokenRecord(token: token, expiresAt: expires, fetchedAt: fetched)
            }
            return nil
        }
    }

    public func saveAccessToken(_ record: AccessTokenRecord, for appID: String, replacing expected: String?) async throws -> AccessTokenRecord {
        // Compare-and-set under a lock on the appid (a row that does not exist yet cannot be locked itself).
        try await database.transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\("kefu-token:" + appID), 0))", logger: Self.quiet)
            var stored: AccessTokenRecord?
            let rows = try await connection.query("SELECT token, expires_at, fetched_at FROM kefu_access_token WHERE app_id = \(appID)", logger: Self.quiet)
            for try await (token, expires, fetched) in rows.decode((String, Int64, Int64).self) {
                stored = AccessTokenRecord(token: token, expiresAt: expires, fetchedAt: fetched)
            }
            let matches = if let expected { stored?.token == expected } else { stored.map { $0.expiresAt <= record.fetchedAt } ?? true }
            guard matches else { return stored ?? record }
            try await connection.query("""
                INSERT INTO kefu_access_token (app_id, token, expires_at, fetched_at) VALUES (\(appID), \(record.token), \(record.expiresAt), \(record.fetchedAt))
                ON CONFLICT (app_id) DO UPDATE SET token = EXCLUDED.token, expires_at = EXCLUDED.expires_at, fetched_at = EXCLUDED.fetched_at
                """, logger: Self.quiet)
            return record
        }
    }

    public func expireAccessToken(_ token: String, for appID: String) async throws -> Bool {
        try await deleted("UPDATE kefu_access_token SET expires_at = 0 WHERE app_id = \(appID) AND token = \(token) RETURNING 1") > 0
    }
}
