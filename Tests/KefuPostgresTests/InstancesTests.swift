import Foundation
import KefuDialogue
import KefuWeChat
import KefuWeChatAPI
import Testing
@testable import KefuPostgres

/// The store contract across instances: two `PostgresDatabase`s on one database are two processes
/// (each its own pool and instance id), exactly as two `kefu serve` would be.
@Suite("PostgreSQL: several instances on one database")
struct InstancesTests {
    static let reply = PassiveResponse.reply(Reply(toUserName: "o", fromUserName: "gh", createTime: 5, body: .text("您好")))

    static func session(_ user: String, step: Int) -> Session {
        Session(user: user, flow: FlowProgress(name: "booking", slots: ["name": "李小宝"], step: step, startedAt: 1, lastActivity: 2, expiresAt: 900),
                updatedAt: 2)
    }

    /// Two instances of one account on a fresh database.
    static func pair(account: String = "wx1") async throws -> (PostgresStore, PostgresStore) {
        let url = try TestDatabase.make()
        let a = PostgresDatabase(try PostgresLocation(url), queryTimeout: TestDatabase.queryTimeout), b = PostgresDatabase(try PostgresLocation(url), queryTimeout: TestDatabase.queryTimeout)
        // Started together: the migrations take turns under their lock, each applied once.
        async let first: Void = a.prepare()
        async let second: Void = b.prepare()
        _ = try await (first, second)
        return (PostgresStore(database: a, account: account), PostgresStore(database: b, account: account))
    }

    @Test("a message is claimed by the first instance; the other sees it in flight, then answered with the same reply; a stale claim is taken over")
    func claims() async throws {
        let (a, b) = try await Self.pair()
        guard case .owned(let stored) = try await a.claim("m1", user: "u", since: 0, at: 100) else { Issue.record("a did not own m1"); return }
        #expect(stored == StoredSession(nil))
        #expect(try await b.claim("m1", user: "u", since: 0, at: 100) == .inFlight)
        #expect(try await a.claim("m1", user: "u", since: 0, at: 101) == .owned(StoredSession(nil)))  // the owner asks again: still its own
        var record = TurnRecord(key: "m1", response: Self.reply, time: 101, user: "u", session: .save(Self.session("u", step: 1)), log: nil)
        record.sessionVersion = stored.version
        try await a.commit(record)
        #expect(try await b.claim("m1", user: "u", since: 0, at: 102) == .answered(Self.reply))
        #expect(try await b.response(for: "m1", since: 0) == Self.reply)

        // An instance that claimed and died: after the lease (10 s) another takes the message over.
        guard case .owned = try await b.claim("m2", user: "u", since: 0, at: 200) else { Issue.record("b did not own m2"); return }
        #expect(try await a.claim("m2", user: "u", since: 0, at: 205) == .inFlight)
        guard case .owned(let taken) = try await a.claim("m2", user: "u", since: 0, at: 211) else { Issue.record("m2 was not taken over"); return }
        #expect(taken.session == Self.session("u", step: 1))
        // A released claim (the store failed in the middle of the turn) is free at once.
        guard case .owned = try await a.claim("m3", user: "u", since: 0, at: 300) else { Issue.record("a did not own m3"); return }
        await a.release("m3", at: 300)
        guard case .owned = try await b.claim("m3", user: "u", since: 0, at: 300) else { Issue.record("m3 was not free after release"); return }
        // An answer older than the window is no answer: the message is new again.
        guard case .owned = try await b.claim("m1", user: "u", since: 500, at: 1_000) else { Issue.record("an expired answer still counted"); return }
    }

    @Test("a turn computed from a session another instance moved meanwhile is refused (SessionConflict) and saves nothing")
    func versions() async throws {
        let (a, b) = try await Self.pair()
        let first = try await a.loadSession(for: "u"), second = try await b.loadSession(for: "u")
        #expect(first.version == 0 && second.version == 0)
        var startA = TurnRecord(key: "a1", response: Self.reply, time: 10, user: "u", session: .save(Self.session("u", step: 1)),
                                log: ConversationTurn(time: 10, user: "u", msgType: "text", message: "预约", normalized: nil, rule: "r", intent: nil,
                                                      reply: "好", latencyMicroseconds: 1))
        startA.sessionVersion = first.version
        var startB = startA
        startB.key = "b1"
        try await a.commit(startA)
        await #expect(throws: SessionConflict.self) { try await b.commit(startB) }  // both started a flow for u: the second is refused
        #expect(try await b.response(for: "b1", since: 0) == nil)
        #expect(try await b.count(.conversation) == 1)  // its log line was not written either

        let now = try await b.loadSession(for: "u")
        #expect(now.session == Self.session("u", step: 1) && now.version > 0)
        var moveB = TurnRecord(key: "b2", response: .success, time: 11, user: "u", session: .save(Self.session("u", step: 2)), log: nil)
        moveB.sessionVersion = now.version
        var moveA = moveB
        moveA.key = "a2"
        try await b.commit(moveB)
        await #expect(throws: SessionConflict.self) { try await a.commit(moveA) }
        // Unchanged and deleting turns are checked too.
        var keep = TurnRecord(key: "a3", response: .success, time: 12, user: "u", session: .unchanged, log: nil)
        keep.sessionVersion = now.version
        await #expect(throws: SessionConflict.self) { try await a.commit(keep) }
        keep.sessionVersion = try await a.loadSession(for: "u").version
        try await a.commit(keep)
        // The clean-up's replace is versioned the same way.
        let current = try await a.loadSession(for: "u")
        #expect(try await b.replaceSession(nil, for: "u", ifVersion: current.version + 1000) == false)
        #expect(try await b.replaceSession(nil, for: "u", ifVersion: current.version))
        #expect(try await a.loadSession(for: "u") == StoredSession(nil))
    }

    @Test("due sessions are taken by lease: two instances' clean-ups never get the same session")
    func leasedCleanUp() async throws {
        let (a, b) = try await Self.pair()
        for i in 0..<40 {
            try await a.commit(TurnRecord(key: "k\(i)", response: .success, time: 1, user: "u\(i)", session: .save(Self.session("u\(i)", step: 0)), log: nil))
        }
        async let fromA = a.sessionsDue(at: 1_000, limit: 25)
        async let fromB = b.sessionsDue(at: 1_000, limit: 25)
        let (x, y) = try await (fromA, fromB)
        #expect(x.count + y.count == 40)
        #expect(Set(x.map(\.user)).isDisjoint(with: Set(y.map(\.user))))
        #expect(try await a.sessionsDue(at: 1_000, limit: 100).isEmpty)  // all held by their lease
        #expect(try await a.sessionsDue(at: 1_000 + 31, limit: 100).count == 40)  // the lease ran out without a tidy: due again
    }

    @Test("outbox batches are disjoint between instances (SKIP LOCKED + lease); only a stopped instance's sending rows are recovered")
    func outbox() async throws {
        let (a, b) = try await Self.pair()
        let messages = (0..<30).map { OutboxMessage(user: "u\($0)", kind: .late, due: 100, content: .message(.text("第\($0)条"))) }
        try await a.commit(TurnRecord(key: "k", response: .success, time: 100, user: "u0", session: .unchanged, log: nil, outbox: messages))
        async let fromA = a.dueOutbox(at: 100, limit: 20)
        async let fromB = b.dueOutbox(at: 100, limit: 20)
        let (x, y) = try await (fromA, fromB)
        #expect(x.count + y.count == 30)
        #expect(Set(x.map(\.id)).isDisjoint(with: Set(y.map(\.id))))
        #expect(try await a.dueOutbox(at: 100, limit: 100).map(\.id) == x.map(\.id))  // its own lease: the same rows again for the same instance

        // Each sends one; instance b stops (no heartbeat for 30 s). a's recovery settles b's row only.
        let now = Int64(Date().timeIntervalSince1970)
        #expect(try await a.beginSending(x[0].id, at: now))
        #expect(try await b.beginSending(y[0].id, at: now))
        #expect(try await a.recoverOutbox(at: now, resendTemplatesWithin: 600) == (unknown: 0, resent: 0))  // both alive
        try await a.database.heartbeat(rules: [:], at: now + 40)
        let recovered = try await a.recoverOutbox(at: now + 40, resendTemplatesWithin: 600)
        #expect(recovered.unknown == 1 && recovered.resent == 0)
        let states = Dictionary(uniqueKeysWithValues: try await a.outboxEntries(for: nil).map { ($0.id, $0.state) })
        #expect(states[y[0].id] == .unknown && states[x[0].id] == .sending)
        let instances = try await a.database.instances(at: now + 40)
        #expect(instances.filter(\.alive).map(\.id) == [a.database.instance])
    }

    @Test("the access token is shared: compare-and-set across instances keeps the first token saved for an expiry")
    func token() async throws {
        let (a, b) = try await Self.pair()
        let t1 = AccessTokenRecord(token: "T1", expiresAt: 7_300, fetchedAt: 100), t2 = AccessTokenRecord(token: "T2", expiresAt: 7_300, fetchedAt: 100)
        async let savedA = a.saveAccessToken(t1, for: "wx1", replacing: nil)
        async let savedB = b.saveAccessToken(t2, for: "wx1", replacing: nil)
        let (x, y) = try await (savedA, savedB)
        #expect(x.token == y.token)  // one of them won; the other got the winner back
        #expect(try await b.accessToken(for: "wx1")?.token == x.token)
        #expect(try await a.expireAccessToken(x.token, for: "wx1"))
        #expect(try await b.expireAccessToken("not-it", for: "wx1") == false)
    }

    @Test("accounts are isolated: the same user and key in two accounts are two conversations")
    func accounts() async throws {
        let url = try TestDatabase.make()
        let database = PostgresDatabase(try PostgresLocation(url), queryTimeout: TestDatabase.queryTimeout)
        try await database.prepare()
        let shop = PostgresStore(database: database, account: "wx-shop"), clinic = PostgresStore(database: database, account: "wx-clinic")
        try await shop.commit(TurnRecord(key: "m1", response: Self.reply, time: 10, user: "u", session: .save(Self.session("u", step: 3)), log: nil))
        #expect(try await clinic.claim("m1", user: "u", since: 0, at: 10) == .owned(StoredSession(nil)))
        #expect(try await clinic.session(for: "u") == nil)
        #expect(try await shop.session(for: "u")?.flow?.step == 3)
        #expect(try await clinic.count(.answered) == 1)
        #expect(try await clinic.count(.session) == 0)
    }

    @Test("the password never shows: not in the location's description, not in an error")
    func password() async throws {
        let location = try PostgresLocation("postgres://kefu:s3cr3t-pw@127.0.0.1:1/kefu")
        #expect(!location.description.contains("s3cr3t"))
        #expect(PostgresLocation.redacted("postgres://kefu:s3cr3t-pw@h/db") == "postgres://kefu:***@h/db")
        let database = PostgresDatabase(location)
        do {
            try await database.prepare()
            Issue.record("a closed port was reachable")
        } catch {
            #expect(!"\(error)".contains("s3cr3t"))
            #expect("\(error)".contains("127.0.0.1:1"))
        }
        #expect(throws: PostgresLocation.Invalid.self) { try PostgresLocation("postgres://kefu@127.0.0.1/kefu?pool=0") }
        #expect(throws: PostgresLocation.Invalid.self) { try PostgresLocation("mysql://kefu@127.0.0.1/kefu") }
        // TLS to any database off this machine unless turned off; loopback without unless asked for.
        #expect(try PostgresLocation("postgres://kefu@db.internal:5432/kefu").requireTLS)
        #expect(try PostgresLocation("postgres://kefu@db.internal:5432/kefu?sslmode=disable").requireTLS == false)
        #expect(try PostgresLocation("postgres://kefu@127.0.0.1:5432/kefu").requireTLS == false)
        #expect(try PostgresLocation("postgres://kefu@localhost/kefu?sslmode=require").requireTLS)
    }
}
