import Foundation
import KefuDialogue
import PostgresNIO

/// The schema, migrated at start. Every instance runs the migrations; an advisory lock lets one at
/// a time in, and each migration is applied once (recorded in `kefu_schema`), so two instances
/// starting together never create a table twice. Every table carries the account.
extension PostgresDatabase {
    /// The advisory lock the migrations take (a constant of our own: "kefu" in ASCII, twice).
    static let migrationLock: Int64 = 0x6B65_6675_6B65_6675

    static let migrations: [(version: Int, name: String, sql: String)] = [
        (1, "answered messages and their claims, sessions, the conversation log, the outbox, windows, the access token, instances", """
        CREATE SEQUENCE kefu_session_version;
        CREATE TABLE kefu_answered (
            account text NOT NULL, key text NOT NULL,
            response bytea, answered_at bigint, request text,
            owner text, claimed_at bigint NOT NULL,
            PRIMARY KEY (account, key));
        CREATE INDEX kefu_answered_claimed ON kefu_answered (account, claimed_at);
        CREATE TABLE kefu_session (
            account text NOT NULL, user_id text NOT NULL,
            state bytea NOT NULL, due bigint, updated_at bigint NOT NULL,
            version bigint NOT NULL,
            PRIMARY KEY (account, user_id));
        CREATE INDEX kefu_session_due ON kefu_session (account, due) WHERE due IS NOT NULL;
        CREATE TABLE kefu_conversation (
            id bigserial PRIMARY KEY, account text NOT NULL, time bigint NOT NULL, user_id text NOT NULL,
            msg_type text NOT NULL, message text NOT NULL, normalized text, rule text NOT NULL, intent text,
            flow text, step text, reply text NOT NULL, latency_us bigint NOT NULL);
        CREATE INDEX kefu_conversation_time ON kefu_conversation (account, time);
        CREATE INDEX kefu_conversation_user ON kefu_conversation (account, user_id, id);
        CREATE TABLE kefu_outbox (
            id bigserial PRIMARY KEY, account text NOT NULL, user_id text NOT NULL, kind text NOT NULL,
            due bigint NOT NULL, not_after bigint, flow text, name text, content jsonb NOT NULL,
            state text NOT NULL, attempts integer NOT NULL DEFAULT 0, created_at bigint NOT NULL, updated_at bigint NOT NULL,
            detail text, msgid bigint, delivery text,
            owner text, leased_until bigint NOT NULL DEFAULT 0);
        CREATE INDEX kefu_outbox_due ON kefu_outbox (account, state, due);
        CREATE INDEX kefu_outbox_user ON kefu_outbox (account, user_id, flow);
        CREATE INDEX kefu_outbox_msgid ON kefu_outbox (account, msgid) WHERE msgid IS NOT NULL;
        CREATE INDEX kefu_outbox_call ON kefu_outbox (account, name) WHERE kind = 'call';
        CREATE TABLE kefu_window (
            account text NOT NULL, user_id text NOT NULL,
            message_at bigint, message_sent integer NOT NULL DEFAULT 0, event_at bigint, event_sent integer NOT NULL DEFAULT 0,
            until bigint,
            PRIMARY KEY (account, user_id));
        CREATE INDEX kefu_window_until ON kefu_window (account, until);
        CREATE TABLE kefu_access_token (
            app_id text PRIMARY KEY, token text NOT NULL, expires_at bigint NOT NULL, fetched_at bigint NOT NULL);
        CREATE TABLE kefu_instance (
            id text PRIMARY KEY, host text NOT NULL, pid bigint NOT NULL, started_at bigint NOT NULL, heartbeat_at bigint NOT NULL,
            rules jsonb NOT NULL);
        """),
        (2, "reload requests that reach every instance (kefu reload, SIGHUP or --watch on one of them)", """
        CREATE TABLE kefu_reload (
            account text PRIMARY KEY, seq bigint NOT NULL, requested_at bigint NOT NULL, reason text NOT NULL);
        """),
        (3, "what answered, flow marks, day rollups, handed-off users (the console)", """
        ALTER TABLE kefu_conversation ADD COLUMN kind text, ADD COLUMN mark_flow text, ADD COLUMN mark_event text,
            ADD COLUMN mark_step text, ADD COLUMN declined text;
        UPDATE kefu_conversation SET kind = \(AnswerKind.legacySQL);
        CREATE INDEX kefu_conversation_unanswered ON kefu_conversation (account, time) WHERE kind = 'default';
        CREATE INDEX kefu_conversation_user_time ON kefu_conversation (account, user_id, time);
        DROP INDEX kefu_conversation_user;
        CREATE TABLE kefu_day_rollup (
            account text NOT NULL, day integer NOT NULL, zone integer NOT NULL, data bytea NOT NULL,
            PRIMARY KEY (account, day, zone));
        ALTER TABLE kefu_session ADD COLUMN paused_until bigint;
        CREATE FUNCTION kefu_session_paused() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.paused_until := (convert_from(NEW.state, 'UTF8')::jsonb ->> 'pausedUntil')::bigint;
            RETURN NEW;
        END $$;
        CREATE TRIGGER kefu_session_paused BEFORE INSERT OR UPDATE OF state ON kefu_session
            FOR EACH ROW EXECUTE FUNCTION kefu_session_paused();
        UPDATE kefu_session SET state = state;
        CREATE INDEX kefu_session_paused_until ON kefu_session (account, paused_until) WHERE paused_until IS NOT NULL;
        """),
    ]

    /// `kefu_turn`: a turn's answer, session change (checked against the version the turn read),
    /// window and log line in ONE round trip. Replaced at every start, so it always matches this build.
    static var turnFunction: String {
        let (message, event) = (ServiceWindow.messageLife, ServiceWindow.eventLife)
        return """
        CREATE OR REPLACE FUNCTION kefu_turn(
            p_account text, p_key text, p_response bytea, p_time bigint, p_request text, p_replaces boolean,
            p_user text, p_op bigint, p_state bytea, p_due bigint, p_updated bigint, p_version bigint,
            p_interaction bigint,
            p_log boolean, p_msg_type text, p_message text, p_normalized text, p_rule text, p_intent text,
            p_flow text, p_step text, p_reply text, p_latency bigint,
            p_kind text, p_mark_flow text, p_mark_event text, p_mark_step text, p_declined text) RETURNS bigint LANGUAGE plpgsql AS $$
        DECLARE
            current bigint;
            n integer;
        BEGIN
            -- The session first: a turn computed from a session that moved meanwhile saves nothing (KF409).
            IF p_version IS NOT NULL THEN
                SELECT version INTO current FROM kefu_session WHERE account = p_account AND user_id = p_user FOR UPDATE;
                IF COALESCE(current, 0) <> p_version THEN
                    RAISE EXCEPTION 'the session of % changed meanwhile', p_user USING ERRCODE = 'KF409';
                END IF;
            END IF;
            IF p_op = 1 THEN
                IF p_version IS NOT NULL AND current IS NULL THEN
                    INSERT INTO kefu_session (account, user_id, state, due, updated_at, version)
                    VALUES (p_account, p_user, p_state, p_due, p_updated, nextval('kefu_session_version'))
                    ON CONFLICT (account, user_id) DO NOTHING;
                    GET DIAGNOSTICS n = ROW_COUNT;
                    IF n = 0 THEN
                        RAISE EXCEPTION 'the session of % was started meanwhile', p_user USING ERRCODE = 'KF409';
                    END IF;
                ELSE
                    INSERT INTO kefu_session (account, user_id, state, due, updated_at, version)
                    VALUES (p_account, p_user, p_state, p_due, p_updated, nextval('kefu_session_version'))
                    ON CONFLICT (account, user_id) DO UPDATE SET state = EXCLUDED.state, due = EXCLUDED.due,
                        updated_at = EXCLUDED.updated_at, version = EXCLUDED.version;
                END IF;
            ELSIF p_op = 2 THEN
                DELETE FROM kefu_session WHERE account = p_account AND user_id = p_user;
            END IF;
            IF p_replaces THEN
                INSERT INTO kefu_answered (account, key, response, answered_at, request, claimed_at)
                VALUES (p_account, p_key, p_response, p_time, p_request, p_time)
                ON CONFLICT (account, key) DO UPDATE SET response = EXCLUDED.response,
                    answered_at = COALESCE(kefu_answered.answered_at, EXCLUDED.answered_at);
            ELSE
                INSERT INTO kefu_answered (account, key, response, answered_at, request, claimed_at)
                VALUES (p_account, p_key, p_response, p_time, p_request, p_time)
                ON CONFLICT (account, key) DO UPDATE SET response = EXCLUDED.response, answered_at = EXCLUDED.answered_at,
                    request = EXCLUDED.request
                WHERE kefu_answered.response IS NULL;
            END IF;
            IF p_interaction = 3 THEN
                DELETE FROM kefu_window WHERE account = p_account AND user_id = p_user;
            ELSIF p_interaction = 1 THEN
                INSERT INTO kefu_window (account, user_id, message_at, message_sent, event_at, event_sent, until)
                VALUES (p_account, p_user, p_time, 0, NULL, 0, p_time + \(message))
                ON CONFLICT (account, user_id) DO UPDATE SET message_at = p_time, message_sent = 0,
                    until = GREATEST(p_time + \(message), COALESCE(kefu_window.event_at + \(event), 0));
            ELSIF p_interaction = 2 THEN
                INSERT INTO kefu_window (account, user_id, message_at, message_sent, event_at, event_sent, until)
                VALUES (p_account, p_user, NULL, 0, p_time, 0, p_time + \(event))
                ON CONFLICT (account, user_id) DO UPDATE SET event_at = p_time, event_sent = 0,
                    until = GREATEST(p_time + \(event), COALESCE(kefu_window.message_at + \(message), 0));
            END IF;
            IF p_log THEN
                INSERT INTO kefu_conversation (account, time, user_id, msg_type, message, normalized, rule, intent, flow, step, reply, latency_us,
                                               kind, mark_flow, mark_event, mark_step, declined)
                VALUES (p_account, p_time, p_user, p_msg_type, p_message, p_normalized, p_rule, p_intent, p_flow, p_step, p_reply, p_latency,
                        p_kind, p_mark_flow, p_mark_event, p_mark_step, p_declined);
            END IF;
            RETURN 0;
        END $$;
        """
    }

    /// A migration's statements: split at `;`, except inside a `$$ … $$` body (a function's).
    static func statements(_ sql: String) -> [String] {
        var statements: [String] = [], current = "", quoted = false
        var rest = Substring(sql)
        while let c = rest.first {
            if rest.hasPrefix("$$") {
                quoted.toggle(); current += "$$"; rest = rest.dropFirst(2); continue
            }
            rest = rest.dropFirst()
            if c == ";" && !quoted {
                statements.append(current); current = ""
            } else {
                current.append(c)
            }
        }
        statements.append(current)
        return statements.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }

    /// Applies the migrations not applied yet, one instance at a time.
    func migrate() async throws {
        let client = self.client, logger = self.logger
        try await timed(within: max(.seconds(60), queryTimeout)) {
            try await client.withConnection { connection in
                // Wait for another instance's migrations (bounded by the query deadline around us).
                while true {
                    let rows = try await connection.query("SELECT pg_try_advisory_lock(\(Self.migrationLock))", logger: logger)
                    var got = false
                    for try await (locked,) in rows.decode((Bool,).self) { got = locked }
                    if got { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                do {
                    try await connection.query("""
                        CREATE TABLE IF NOT EXISTS kefu_schema (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)
                        """, logger: logger)
                    var applied = Set<Int>()
                    for try await (version,) in try await connection.query("SELECT version FROM kefu_schema", logger: logger).decode((Int.self)) {
                        applied.insert(version)
                    }
                    for migration in Self.migrations where !applied.contains(migration.version) {
                        _ = try await connection.query("BEGIN", logger: logger)
                        do {
                            for statement in Self.statements(migration.sql) {
                                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                            }
                            let now = Int64(Date().timeIntervalSince1970)
                            try await connection.query("INSERT INTO kefu_schema (version, name, applied_at) VALUES (\(migration.version), \(migration.name), \(now))",
                                                       logger: logger)
                            _ = try await connection.query("COMMIT", logger: logger)
                            logger.info("PostgreSQL schema migrated", metadata: ["version": .string("\(migration.version)"), "name": .string(migration.name)])
                        } catch {
                            _ = try? await connection.query("ROLLBACK", logger: logger)
                            throw error
                        }
                    }
                    try await connection.query(PostgresQuery(unsafeSQL: Self.turnFunction), logger: logger)
                    _ = try await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLock))", logger: logger)
                } catch {
                    _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.migrationLock))", logger: logger)
                    throw error
                }
            }
        }
    }
}
