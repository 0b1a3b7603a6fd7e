import Foundation
import KefuDialogue
import KefuRules
import Testing
@testable import KefuStore

/// The call rows of the outbox (writes to the company's systems), on the SQLite file and the memory store.
@Suite("Call rows in the stores")
struct CallRowTests {
    static func request(_ key: String, user: String = "u", flow: String = "booking") -> ServiceRequest {
        ServiceRequest(service: "his", method: .post, path: "/appointments", body: #"{"name":"李小宝"}"#, idempotencyKey: key,
                       call: CallRef(user: user, flow: flow, step: "book", instance: "i1", run: 1))
    }

    static func row(_ request: ServiceRequest, due: Int64) -> OutboxMessage {
        OutboxMessage(user: request.call.user, kind: .call, due: due, flow: request.call.flow, name: request.idempotencyKey, content: .call(request))
    }

    @Test("a call row: kept with the turn under its lease, claimed for one try at a time, put off with the try counted, done by its key")
    func lifecycle() async throws {
        for (store, path) in try await StoreTests.stores() {
            defer { path.map(StoreTests.removeFolder) }
            let request = Self.request("kefu-k1")
            try await store.commit(TurnRecord(key: "m1", response: .success, time: 100, user: "u", session: .unchanged, log: nil,
                                              outbox: [Self.row(request, due: 134)]))
            #expect(try await store.dueOutbox(at: 120, limit: 10).isEmpty)  // the turn's own try holds the lease
            let entry = try #require(try await store.dueOutbox(at: 134, limit: 10).first)
            #expect(entry.message.request == request)
            #expect(try await store.claimCall(entry.id, until: 170, at: 134))
            #expect(try await store.claimCall(entry.id, until: 170, at: 134) == false)  // taken: not due until 170
            // The try failed in a retryable way: due again later, one try counted.
            var retry = TurnRecord(key: "call|kefu-k1|1", response: .success, time: 140, user: "u", session: .unchanged, log: nil)
            retry.calls = [CallUpdate(key: "kefu-k1", result: .retry(at: 150, "503"))]
            try await store.commit(retry)
            let again = try #require(try await store.dueOutbox(at: 150, limit: 10).first)
            #expect(again.attempts == 1 && again.detail == "503" && again.state == .pending)
            #expect(try await store.callStatus(at: 160)["his"]?.depth == 1)
            #expect(try await store.claimCall(again.id, until: 190, at: 150))
            var done = TurnRecord(key: "call|kefu-k1|2", response: .success, time: 155, user: "u", session: .unchanged, log: nil)
            done.calls = [CallUpdate(key: "kefu-k1", result: .sent(msgid: nil), detail: "201 in 3 ms")]
            try await store.commit(done)
            let finished = try #require(try await store.outboxEntries(for: "u").first)
            #expect(finished.state == .sent && finished.attempts == 2 && finished.detail == "201 in 3 ms")
            #expect(try await store.dueOutbox(at: 1_000, limit: 10).isEmpty)
            #expect(try await store.callStatus(at: 160)["his"]?.depth == 0)
        }
    }

    @Test("the customer cancels: the flow's calls that have not gone out are cancelled, another user's are not")
    func cancel() async throws {
        for (store, path) in try await StoreTests.stores() {
            defer { path.map(StoreTests.removeFolder) }
            try await store.commit(TurnRecord(key: "m1", response: .success, time: 100, user: "u", session: .unchanged, log: nil,
                                              outbox: [Self.row(Self.request("a"), due: 100), Self.row(Self.request("b", user: "v"), due: 100)]))
            var record = TurnRecord(key: "m2", response: .success, time: 101, user: "u", session: .unchanged, log: nil)
            record.cancelCalls = ["booking"]
            try await store.commit(record)
            #expect(try await store.outboxEntries(for: "u").map(\.state) == [.cancelled])
            #expect(try await store.outboxEntries(for: "v").map(\.state) == [.pending])
            #expect(try await store.dueOutbox(at: 200, limit: 10).map(\.message.user) == ["v"])
        }
    }

    @Test("a result in time replaces the answer kept with the slow: text, so WeChat's retry gets the result")
    func replacesAnswer() async throws {
        for (store, path) in try await StoreTests.stores() {
            defer { path.map(StoreTests.removeFolder) }
            try await store.commit(TurnRecord(key: "m1", response: .success, time: 100, user: "u", session: .unchanged, log: nil))
            var record = TurnRecord(key: "m1", response: StoreTests.reply, time: 101, user: "u", session: .unchanged, log: nil)
            try await store.commit(record)
            #expect(try await store.response(for: "m1", since: 0) == .success)  // without the flag, the first answer stays
            record.replacesAnswer = true
            try await store.commit(record)
            #expect(try await store.response(for: "m1", since: 0) == StoreTests.reply)
        }
    }
}
