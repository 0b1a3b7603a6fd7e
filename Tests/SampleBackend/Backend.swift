import Foundation
import ServerJSON

/// An answer: status and JSON body.
struct Answer: Sendable {
    var status: Int
    var body: JSON

    static func error(_ status: Int, _ message: String) -> Answer { Answer(status: status, body: ["error": .string(message)]) }
}

/// Everything the fake backend knows, in one actor, all in memory and FAKE: the shop's orders
/// (fixed) and after-sales tickets, the clinic's appointments, the answers kept per Idempotency-Key,
/// the faults to inject and the requests received. Each business request is answered inside one
/// isolated call, so two requests with the same key never both run.
actor Backend {
    // MARK: Fake data

    struct Order: Sendable {
        var status: String
        var carrier: String?
        var trackingNo: String?
    }

    /// The shop's orders. Any other order number is 404.
    static let orders: [String: Order] = [
        "DD202406110001": Order(status: "SHIPPED", carrier: "顺丰速运", trackingNo: "SF1234567890"),
        "DD202406110002": Order(status: "CREATED"),
        "DD202406110003": Order(status: "DELIVERED", carrier: "中通快递", trackingNo: "ZT9876543210"),
        "DD202406110004": Order(status: "CANCELLED"),
    ]

    struct Ticket: Sendable {
        var ticketNo: String
        var fields: [String: JSON]
    }

    struct Appointment: Sendable {
        var id: String
        var department: String
        var doctor: String
        var time: String
        var name: String
        var phone: String
    }

    static let firstTicket = 101
    static let firstAppointment = 1001

    private var tickets: [Ticket] = []
    private var nextTicket = Backend.firstTicket
    private var appointments: [Appointment] = []
    private var nextAppointment = Backend.firstAppointment

    // MARK: Idempotency

    /// The first answer to one key, and what it was an answer to.
    struct Kept: Sendable {
        var fingerprint: [UInt8]
        var answer: Answer
        var replays = 0
    }

    private var kept: [String: Kept] = [:]
    /// Every request that carried the key, whatever happened to it (faults and 401s included).
    private var received: [String: Int] = [:]

    // MARK: Faults

    struct Fault: Sendable {
        var prefix: String
        var method: String?
        var status: Int?
        var delayMs: Int
        var drop: Bool
        var body: JSON?
        /// -1: until cleared.
        var remaining: Int

        var json: JSON {
            var object: [String: JSON] = ["path": .string(prefix), "delay_ms": .int(Int64(delayMs)), "drop": .bool(drop),
                                          "times": .int(Int64(remaining))]
            if let method { object["method"] = .string(method) }
            if let status { object["status"] = .int(Int64(status)) }
            if let body { object["body"] = body }
            return .object(object)
        }
    }

    private var faults: [Fault] = []

    // MARK: Requests received

    struct Received: Sendable {
        var method: String
        var target: String
        var headers: [(String, String)]
        var body: [UInt8]
        var signatureOK: Bool?
        var idempotencyKey: String?
        var replayed = false
        var status: Int?
        var fault: String?
        var time: Double

        var json: JSON {
            var headerObject: [String: JSON] = [:]
            for (name, value) in headers {
                if case .string(let earlier)? = headerObject[name] { headerObject[name] = .string(earlier + ", " + value) } else { headerObject[name] = .string(value) }
            }
            let path = target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? target
            return [
                "method": .string(method), "target": .string(target), "path": .string(path),
                "headers": .object(headerObject), "body": .string(String(decoding: body, as: UTF8.self)),
                "signature_ok": signatureOK.map(JSON.bool) ?? .null,
                "idempotency_key": idempotencyKey.map(JSON.string) ?? .null,
                "replayed": .bool(replayed), "status": status.map { .int(Int64($0)) } ?? .null,
                "fault": fault.map(JSON.string) ?? .null, "time": .double(time),
            ]
        }
    }

    /// The most kept; the oldest go first.
    static let maxReceived = 10_000
    private var requests: [Received] = []
    private var dropped = 0

    // MARK: The request path

    /// Logs a request; returns its number for `finish`.
    func record(_ request: Received) -> Int {
        if let key = request.idempotencyKey { received[key, default: 0] += 1 }
        if requests.count >= Self.maxReceived { requests.removeFirst(); dropped += 1 }
        requests.append(request)
        return dropped + requests.count - 1
    }

    /// Notes how a logged request was answered.
    func finish(_ number: Int, status: Int?, replayed: Bool = false, fault: String? = nil) {
        let index = number - dropped
        guard requests.indices.contains(index) else { return }
        requests[index].status = status
        requests[index].replayed = replayed
        if let fault { requests[index].fault = fault }
    }

    /// The first fault that matches, used once (unless it lasts until cleared).
    func takeFault(method: String, target: String) -> Fault? {
        guard let index = faults.firstIndex(where: { target.hasPrefix($0.prefix) && ($0.method == nil || $0.method == method) }) else { return nil }
        let fault = faults[index]
        if fault.remaining > 0 {
            faults[index].remaining -= 1
            if faults[index].remaining == 0 { faults.remove(at: index) }
        }
        return fault
    }

    /// Answers a business request. Writes with an Idempotency-Key: the first answer is kept and given
    /// again (replayed) for the same request; the same key on a different request is 422.
    func answer(method: String, target: String, body: [UInt8], idempotencyKey: String?) -> (Answer, replayed: Bool) {
        let isWrite = ["POST", "PUT", "PATCH", "DELETE"].contains(method)
        guard isWrite, let key = idempotencyKey else { return (handle(method: method, target: target, body: body), false) }
        let fingerprint = Array("\(method) \(target)\n".utf8) + body
        if let earlier = kept[key] {
            guard earlier.fingerprint == fingerprint else {
                return (.error(422, "Idempotency-Key \(key) was first used for a different request (method, path or body differ); a new request needs a new key"), false)
            }
            kept[key]?.replays += 1
            return (earlier.answer, true)
        }
        let answer = handle(method: method, target: target, body: body)
        kept[key] = Kept(fingerprint: fingerprint, answer: answer)
        return (answer, false)
    }

    // MARK: Endpoints

    private func handle(method: String, target: String, body: [UInt8]) -> Answer {
        let (path, query) = Self.split(target)
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map { String($0).removingPercentEncoding ?? String($0) }
        // parts[0] is the empty string before the first slash.
        let (first, second) = (parts.count > 1 ? parts[1] : "", parts.count > 2 ? parts[2] : "")
        switch (parts.count, first, second) {
        case (4, "shop", "orders") where !parts[3].isEmpty:
            guard method == "GET" else { return Self.notAllowed(method, path, "GET") }
            return order(parts[3])
        case (3, "shop", "tickets"):
            guard method == "POST" else { return Self.notAllowed(method, path, "POST") }
            return createTicket(body)
        case (3, "clinic", "availability"):
            guard method == "GET" else { return Self.notAllowed(method, path, "GET") }
            return availability(query)
        case (3, "clinic", "appointments"):
            switch method {
            case "POST": return book(body)
            case "DELETE": return cancel(query)
            default: return Self.notAllowed(method, path, "POST or DELETE")
            }
        default:
            return .error(404, "no such endpoint: \(method) \(path) (see docs/sample-backend.md)")
        }
    }

    static func notAllowed(_ method: String, _ path: String, _ allowed: String) -> Answer {
        .error(405, "\(method) is not allowed on \(path): use \(allowed)")
    }

    private func order(_ number: String) -> Answer {
        guard let order = Self.orders[number] else { return .error(404, "order not found") }
        var shipment: [String: JSON] = [:]
        if let carrier = order.carrier, let trackingNo = order.trackingNo {
            shipment = ["carrier": .string(carrier), "no": .string(trackingNo)]
        }
        return Answer(status: 200, body: ["order_no": .string(number), "status": .string(order.status), "shipment": .object(shipment)])
    }

    private func createTicket(_ body: [UInt8]) -> Answer {
        guard let object = JSON.parse(body)?.object else { return .error(400, "the body must be a JSON object") }
        let missing = Self.missing(["order_no", "reason", "phone"], in: object)
        guard missing.isEmpty else { return .error(400, "missing \(missing.joined(separator: ", "))") }
        let digits = String(nextTicket)
        let ticketNo = "SH-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
        nextTicket += 1
        tickets.append(Ticket(ticketNo: ticketNo, fields: object))
        return Answer(status: 201, body: ["ticket_no": .string(ticketNo), "order_no": object["order_no"]!])
    }

    /// A slot is full when its hour is 17 or later (17:00–23:59); other times are free. Bookings do
    /// not make a slot full here, so a booking can still meet 409 (taken meanwhile).
    static func isFull(_ time: String) -> Bool {
        guard let (hour, _) = clock(in: time) else { return false }
        return (17...23).contains(hour)
    }

    /// The last `H:MM` or `HH:MM` in the text, and where it starts.
    static func clock(in text: String) -> (hour: Int, start: String.Index)? {
        let characters = Array(text.indices)
        var found: (Int, String.Index)?
        for (offset, index) in characters.enumerated() where text[index] == ":" {
            guard offset + 2 < characters.count, text[characters[offset + 1]].isASCII, text[characters[offset + 1]].isNumber,
                  text[characters[offset + 2]].isASCII, text[characters[offset + 2]].isNumber else { continue }
            var first = offset
            while first > 0, offset - first < 2, text[characters[first - 1]].isASCII, text[characters[first - 1]].isNumber { first -= 1 }
            guard first < offset, let hour = Int(text[characters[first]..<index]) else { continue }
            found = (hour, characters[first])
        }
        return found
    }

    private func availability(_ query: [String: String]) -> Answer {
        let missing = ["department", "doctor", "time"].filter { (query[$0] ?? "").isEmpty }
        guard missing.isEmpty else { return .error(400, "missing query parameter \(missing.joined(separator: ", "))") }
        let time = query["time"]!
        guard let (_, start) = Self.clock(in: time) else { return .error(400, "time '\(time)' has no HH:MM, e.g. 2026-12-05 周六 15:00") }
        guard Self.isFull(time) else { return Answer(status: 200, body: ["available": true, "alternatives": []]) }
        let day = time[..<start].trimmingCharacters(in: .whitespaces)
        let alternatives = ["09:00", "10:30", "14:00"].map { clock -> JSON in ["label": .string(day.isEmpty ? clock : "\(day) \(clock)")] }
        return Answer(status: 200, body: ["available": false, "alternatives": .array(alternatives)])
    }

    private func book(_ body: [UInt8]) -> Answer {
        guard let object = JSON.parse(body)?.object else { return .error(400, "the body must be a JSON object") }
        let missing = Self.missing(["department", "doctor", "time", "name", "phone"], in: object)
        guard missing.isEmpty else { return .error(400, "missing \(missing.joined(separator: ", "))") }
        let field = { (name: String) in Self.text(object[name])! }
        let (department, doctor, time, phone) = (field("department"), field("doctor"), field("time"), field("phone"))
        if Self.isFull(time) { return .error(409, "full") }
        if let booked = appointments.first(where: { $0.department == department && $0.doctor == doctor && $0.time == time }) {
            guard booked.phone == phone else { return .error(409, "taken") }
            return Answer(status: 200, body: Self.json(booked, existing: true))
        }
        let appointment = Appointment(id: "A\(nextAppointment)", department: department, doctor: doctor, time: time, name: field("name"), phone: phone)
        nextAppointment += 1
        appointments.append(appointment)
        return Answer(status: 201, body: Self.json(appointment, existing: false))
    }

    static func json(_ appointment: Appointment, existing: Bool) -> JSON {
        var object: JSON = ["id": .string(appointment.id), "department": .string(appointment.department), "doctor": .string(appointment.doctor),
                            "time": .string(appointment.time), "name": .string(appointment.name)]
        if existing, case .object(var fields) = object { fields["existing"] = true; object = .object(fields) }
        return object
    }

    private func cancel(_ query: [String: String]) -> Answer {
        guard let phone = query["phone"], !phone.isEmpty else { return .error(400, "missing query parameter phone") }
        let ids = appointments.filter { $0.phone == phone }.map(\.id)
        guard !ids.isEmpty else { return .error(404, "no appointment") }
        appointments.removeAll { $0.phone == phone }
        return Answer(status: 200, body: ["cancelled": .int(Int64(ids.count)), "ids": .array(ids.map(JSON.string))])
    }

    /// A field as text: a non-empty string, or a number.
    static func text(_ value: JSON?) -> String? {
        switch value {
        case .string(let text)? where !text.trimmingCharacters(in: .whitespaces).isEmpty: return text
        case .int(let number)?: return String(number)
        default: return nil
        }
    }

    static func missing(_ names: [String], in object: [String: JSON]) -> [String] {
        names.filter { text(object[$0]) == nil }
    }

    /// The path and the decoded query of a request target (`+` and `%20` both a space).
    static func split(_ target: String) -> (path: String, query: [String: String]) {
        let halves = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var query: [String: String] = [:]
        if halves.count > 1 {
            for pair in halves[1].split(separator: "&") {
                let sides = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                func decode(_ text: Substring) -> String {
                    let spaced = text.replacingOccurrences(of: "+", with: " ")
                    return spaced.removingPercentEncoding ?? spaced
                }
                query[decode(sides[0])] = sides.count > 1 ? decode(sides[1]) : ""
            }
        }
        return (String(halves[0]), query)
    }

    // MARK: Controls (/_sample/)

    func addFault(_ fault: Fault) -> Int {
        faults.append(fault)
        return faults.count
    }

    func listFaults() -> JSON { ["faults": .array(faults.map(\.json))] }

    func clearFaults() -> Int {
        defer { faults.removeAll() }
        return faults.count
    }

    func receivedRequests() -> JSON { ["requests": .array(requests.map(\.json))] }

    func clearRequests() -> Int {
        defer { requests.removeAll(); dropped = 0 }
        return requests.count
    }

    /// Per Idempotency-Key: how many requests carried it, the status first answered, how many replays.
    func idempotency() -> JSON {
        var keys: [String: JSON] = [:]
        for (key, count) in received {
            var entry: [String: JSON] = ["received": .int(Int64(count))]
            if let kept = kept[key] {
                entry["status"] = .int(Int64(kept.answer.status))
                entry["replayed"] = .int(Int64(kept.replays))
            } else {
                entry["status"] = .null
                entry["replayed"] = 0
            }
            keys[key] = .object(entry)
        }
        return ["keys": .object(keys)]
    }

    /// The tickets and appointments made so far.
    func state() -> JSON {
        [
            "tickets": .array(tickets.map { ticket in
                var fields = ticket.fields
                fields["ticket_no"] = .string(ticket.ticketNo)
                return .object(fields)
            }),
            "appointments": .array(appointments.map { appointment in
                var object = Self.json(appointment, existing: false)
                if case .object(var fields) = object { fields["phone"] = .string(appointment.phone); object = .object(fields) }
                return object
            }),
        ]
    }

    /// Back to the start: no tickets or appointments, numbering from the first, no kept answers, no faults, no requests.
    func reset() {
        tickets = []; nextTicket = Self.firstTicket
        appointments = []; nextAppointment = Self.firstAppointment
        kept = [:]; received = [:]
        faults = []
        requests = []; dropped = 0
    }
}
