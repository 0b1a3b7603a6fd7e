import Foundation
import GRDB
import KefuDialogue

/// The outbox and the customer-service windows in SQLite. Rows are written by `commit` in the turn's
/// transaction; the worker moves each through pending → sending → sent / failed / unknown / skipped,
/// each change its own small transaction, and the window's count with the `sent` mark.
extension SQLiteStore {
    static func window(_ user: String, _ db: Database) throws -> ServiceWindow {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM service_window WHERE user = ?", arguments: [user]) else { return ServiceWindow() }
        return ServiceWindow(messageAt: row["message_at"], messageSent: row["message_sent"], eventAt: row["event_at"], eventSent: row["event_sent"])
    }

    static func save(_ window: ServiceWindow, for user: String, _ db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO service_window (user, message_at, message_sent, event_at, event_sent, until) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(user) DO UPDATE SET message_at = excluded.message_at, message_sent = excluded.message_sent,
              event_at = excluded.event_at, event_sent = excluded.event_sent, until = excluded.until
            """).execute(arguments: [user, window.messageAt, window.messageSent, window.eventAt, window.eventSent, window.until])
    }

    /// The window a push opens (or closes), in one statement: the per-message path reads nothing.
    /// Same arithmetic as ``ServiceWindow/opened(by:at:)``.
    static func open(_ interaction: Interaction, for user: String, at time: Int64, _ db: Database) throws {
        let (message, event) = (ServiceWindow.messageLife, ServiceWindow.eventLife)
        switch interaction {
        case .unfollow:
            try db.cachedStatement(sql: "DELETE FROM service_window WHERE user = ?").execute(arguments: [user])
        case .message:
            try db.cachedStatement(sql: """
                INSERT INTO service_window (user, message_at, message_sent, event_at, event_sent, until) VALUES (?1, ?2, 0, NULL, 0, ?2 + \(message))
                ON CONFLICT(user) DO UPDATE SET message_at = ?2, message_sent = 0, until = MAX(?2 + \(message), COALESCE(event_at + \(event), 0))
                """).execute(arguments: [user, time])
        case .event:
            try db.cachedStatement(sql: """
                INSERT INTO service_window (user, message_at, message_sent, event_at, event_sent, until) VALUES (?1, NULL, 0, ?2, 0, ?2 + \(event))
                ON CONFLICT(user) DO UPDATE SET event_at = ?2, event_sent = 0, until = MAX(?2 + \(event), COALESCE(message_at + \(message), 0))
                """).execute(arguments: [user, time])
        }
    }

    public func window(for user: String) async throws -> ServiceWindow {
        try await pool.read { db in try Self.window(user, db) }
    }

    static func entry(_ row: Row) throws -> OutboxEntry {
        let content = try JSONDecoder().decode(OutboundContent.self, from: row["content"] as Data)
        let message = OutboxMessage(user: row["user"], kind: OutboxMessage.Kind(rawValue: row["kind"]) ?? .part, due: row["due"],
                                    notAfter: row["not_after"], flow: row["flow"], name: row["name"], content: content)
        return OutboxEntry(id: row["id"], message: message, state: OutboxState(rawValue: row["state"]) ?? .unknown, attempts: row["attempts"],
                           createdAt: row["created_at"], updatedAt: row["updated_at"], detail: row["detail"], msgid: row["msgid"],
                           delivery: row["delivery"])
    }

    public func dueOutbox(at time: Int64, limit: Int) async throws -> [OutboxEntry] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM outbox WHERE state = 'pending' AND due <= ? ORDER BY id LIMIT ?", arguments: [time, limit]).map(Self.entry)
        }
    }

    public func beginSending(_ id: Int64, at time: Int64) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ? WHERE id = ? AND state = 'pending'",
                           arguments: [time, id])
            return db.changesCount == 1
        }
    }

    public func claimCall(_ id: Int64, until: Int64, at time: Int64) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "UPDATE outbox SET due = ?, updated_at = ? WHERE id = ? AND kind = 'call' AND state = 'pending' AND due <= ?",
                           arguments: [until, time, id, time])
            return db.changesCount == 1
        }
    }

    /// What came of a call's try, in the turn's transaction: its row (by idempotency key) done, given up or due again.
    static func apply(_ update: CallUpdate, for user: String, at time: Int64, _ db: Database) throws {
        let (state, due, detail) = update.row
        try db.cachedStatement(sql: """
            UPDATE outbox SET state = ?, due = COALESCE(?, due), detail = ?, attempts = attempts + 1, updated_at = ?
            WHERE user = ? AND kind = 'call' AND name = ? AND state = 'pending'
            """).execute(arguments: [state, due, detail, time, user, update.key])
    }

    public func finishSending(_ id: Int64, _ result: OutboxResult, at time: Int64) async throws {
        try await pool.write { db in
            switch result {
            case .sent(let msgid):
                try db.execute(sql: "UPDATE outbox SET state = 'sent', msgid = ?, detail = NULL, updated_at = ? WHERE id = ?", arguments: [msgid, time, id])
                if let row = try Row.fetchOne(db, sql: "SELECT * FROM outbox WHERE id = ?", arguments: [id]) {
                    let entry = try Self.entry(row)
                    if entry.message.needsWindow {
                        var window = try Self.window(entry.message.user, db)
                        window.use(at: time)
                        try Self.save(window, for: entry.message.user, db)
                    }
                }
            case .failed(let why): try Self.mark(id, "failed", why, time, db)
            case .unknown(let why): try Self.mark(id, "unknown", why, time, db)
            case .skipped(let why): try Self.mark(id, "skipped", why, time, db)
            case .retry(let due, let why):
                try db.execute(sql: "UPDATE outbox SET state = 'pending', due = ?, detail = ?, updated_at = ? WHERE id = ?", arguments: [due, why, time, id])
            }
        }
    }

    static func mark(_ id: Int64, _ state: String, _ detail: String, _ time: Int64, _ db: Database) throws {
        try db.execute(sql: "UPDATE outbox SET state = ?, detail = ?, updated_at = ? WHERE id = ?", arguments: [state, detail, time, id])
    }

    public func recoverOutbox(at time: Int64, resendTemplatesWithin: Int64) async throws -> (unknown: Int, resent: Int) {
        try await pool.write { db in
            var counts = (unknown: 0, resent: 0)
            for row in try Row.fetchAll(db, sql: "SELECT * FROM outbox WHERE state = 'sending'") {
                let entry = try Self.entry(row)
                if case .template = entry.message.content, time - entry.updatedAt < resendTemplatesWithin {
                    // WeChat sends a template message once per client_msg_id: sending it again is safe.
                    try db.execute(sql: "UPDATE outbox SET state = 'pending', updated_at = ? WHERE id = ?", arguments: [time, entry.id])
                    counts.resent += 1
                } else {
                    try Self.mark(entry.id, "unknown", "the server stopped while sending it; WeChat may or may not have delivered it", time, db)
                    counts.unknown += 1
                }
            }
            return counts
        }
    }

    public func outboxStatus(at time: Int64) async throws -> OutboxStatus {
        try await pool.read { db in
            var counts: [OutboxState: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM outbox GROUP BY state") {
                if let state = OutboxState(rawValue: row["state"]) { counts[state] = row["n"] }
            }
            let due = try Row.fetchOne(db, sql: "SELECT COUNT(*) AS n, MIN(due) AS oldest FROM outbox WHERE state IN ('pending', 'sending') AND due <= ?",
                                       arguments: [time])
            let scheduled = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE state = 'pending' AND due > ?", arguments: [time]) ?? 0
            let oldest: Int64? = due?["oldest"]
            return OutboxStatus(depth: due?["n"] ?? 0, oldestAge: oldest.map { time - $0 } ?? 0, scheduled: scheduled, counts: counts)
        }
    }

    public func callStatus(at time: Int64) async throws -> [String: OutboxStatus] {
        // Counted in SQL (the worker asks every round): the open rows and the last day's finished ones,
        // by the service named in the row's request, without decoding a row.
        try await pool.read { db in
            var status: [String: OutboxStatus] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT json_extract(content, '$.call._0.service') AS service, state, COUNT(*) AS n,
                       SUM(state IN ('pending', 'sending') AND due <= ?1) AS depth, MIN(CASE WHEN state IN ('pending', 'sending') AND due <= ?1 THEN due END) AS oldest,
                       SUM(state = 'pending' AND due > ?1) AS waiting
                FROM outbox WHERE kind = 'call' AND (state = 'pending' OR updated_at >= ?2) GROUP BY service, state
                """, arguments: [time, time - 86_400]) {
                let service: String = row["service"] ?? "?"
                var s = status[service] ?? OutboxStatus(depth: 0, oldestAge: 0, scheduled: 0, counts: [:])
                if let state = OutboxState(rawValue: row["state"]) { s.counts[state] = row["n"] }
                s.depth += row["depth"] ?? 0
                s.scheduled += row["waiting"] ?? 0
                if let oldest: Int64 = row["oldest"] { s.oldestAge = max(s.oldestAge, time - oldest) }
                status[service] = s
            }
            return status
        }
    }

    public func outboxEntries(for user: String?) async throws -> [OutboxEntry] {
        try await pool.read { db in
            if let user {
                return try Row.fetchAll(db, sql: "SELECT * FROM outbox WHERE user = ? ORDER BY id", arguments: [user]).map(Self.entry)
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM outbox ORDER BY id").map(Self.entry)
        }
    }

    public func recordTemplateFinished(msgid: Int64, status: String, at time: Int64) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE outbox SET delivery = ?, updated_at = ? WHERE msgid = ?", arguments: [status, time, msgid])
        }
    }

    public func purgeOutbox(before time: Int64, limit: Int) async throws -> Int {
        try await pool.write { db in
            try db.execute(sql: """
                DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE state NOT IN ('pending', 'sending') AND updated_at < ? ORDER BY id LIMIT ?)
                """, arguments: [time, limit])
            let gone = db.changesCount
            try db.execute(sql: "DELETE FROM service_window WHERE user IN (SELECT user FROM service_window WHERE until < ? LIMIT ?)", arguments: [time, limit])
            return gone
        }
    }
}
