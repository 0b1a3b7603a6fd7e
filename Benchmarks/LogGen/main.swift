// kefu-loggen: a realistic conversation log for the console's tests and benchmarks. Users walk the
// conversations of a rule set's corpus (Corpora/NAME: flows finished, cancelled, answered again,
// handed off) through the real engine, at random times over the last days, with questions the
// rules do not answer mixed in; every line the engine logs is written to the store, as
// `kefu serve` would have written it. Deterministic for a seed.
//
//   swift run -c release kefu-loggen --rules Rules/shop --corpus Corpora/shop --store sqlite:/tmp/log.sqlite --turns 1000000
import Foundation
import KefuCorpus
import KefuDialogue
import KefuPostgres
import KefuRules
import KefuStore

struct Options {
    var rules = "Rules/shop"
    var corpus = "Corpora/shop"
    var store = ""
    var account = "default"
    var turns = 10_000
    var days = 30
    var end = Int64(Date().timeIntervalSince1970)
    var seed: UInt64 = 1
    var unanswered = "Benchmarks/LogGen/unanswered-shop.txt"
    /// Share of users who also ask one of the unanswered questions.
    var unansweredShare = 0.3
    var handedOff = 5
}

func parse() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst()
    func value() -> String {
        guard let v = args.popFirst() else { fail("a value is missing after the last option") }
        return v
    }
    while let a = args.popFirst() {
        switch a {
        case "--rules": o.rules = value()
        case "--corpus": o.corpus = value()
        case "--store": o.store = value()
        case "--account": o.account = value()
        case "--turns": o.turns = Int(value()) ?? o.turns
        case "--days": o.days = Int(value()) ?? o.days
        case "--end": o.end = Int64(value()) ?? o.end
        case "--seed": o.seed = UInt64(value()) ?? o.seed
        case "--unanswered": o.unanswered = value()
        case "--handed-off": o.handedOff = Int(value()) ?? o.handedOff
        default: fail("unknown option \(a) (see the comment at the top of Benchmarks/LogGen/main.swift)")
        }
    }
    if o.store.isEmpty { fail("--store sqlite:PATH or postgres://… is needed") }
    return o
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("kefu-loggen: \(message)\n".utf8))
    exit(2)
}

func openid(_ random: inout SeededGenerator) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    return "o" + String((0..<27).map { _ in alphabet[Int(random.next() % 64)] })
}

let options = parse()
let rules: CompiledRules
do { rules = try RuleSetCompiler.compile(directory: options.rules) } catch { fail("\(options.rules): \(error)") }
let cases: [ConversationCase]
do { cases = try CorpusLoader.load(paths: [options.corpus]).filter { c in c.steps.allSatisfy { if case .resend = $0.action { false } else { true } } } }
catch { fail("\(options.corpus): \(error)") }
let questions = ((try? String(contentsOfFile: options.unanswered, encoding: .utf8)) ?? "")
    .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
if cases.isEmpty { fail("\(options.corpus): no conversations") }

let store: any ConversationStore
if options.store.hasPrefix("sqlite:") {
    store = try SQLiteStore(path: String(options.store.dropFirst("sqlite:".count)))
} else if options.store.hasPrefix("postgres") {
    let database = PostgresDatabase(try PostgresLocation(options.store, passwordFile: ProcessInfo.processInfo.environment["KEFU_STORE_PASSWORD_FILE"]))
    try await database.prepare(register: false)
    store = PostgresStore(database: database, account: options.account)
} else {
    fail("--store \(options.store): sqlite:PATH or postgres://…")
}

var random = SeededGenerator(seed: options.seed)
let start = options.end - Int64(options.days) * 86_400
var written = 0, users = 0
let began = Date()
// Day by day, so that lines go in roughly in time order (ids grow with time, as in a real log).
let perDay = max(1, options.turns / options.days)
for day in 0..<options.days {
    var lines: [ConversationTurn] = []
    let dayStart = start + Int64(day) * 86_400
    let target = day == options.days - 1 ? options.turns - written : perDay
    while lines.count < target {
        users += 1
        let user = openid(&random)
        // Busier in the day (local 09:00–22:00) than at night.
        var at = dayStart + Int64(random.next() % 86_400)
        if random.next() % 4 != 0 { at = dayStart + 3600 + Int64(random.next() % (13 * 3600)) }
        let chosen = cases[Int(random.next() % UInt64(cases.count))]
        let simulator = Simulator(rules: rules, store: MemoryStore(logLimit: 1000), clock: VirtualClock(at), calls: SimulatedCalls(mocks: chosen.mocks, rules: rules))
        var steps = chosen.steps.map(\.action)
        if !questions.isEmpty, Double(random.next() % 1000) / 1000 < options.unansweredShare {
            steps.insert(.say(questions[Int(random.next() % UInt64(questions.count))]), at: Int(random.next() % UInt64(steps.count + 1)))
        }
        for action in steps {
            switch action {
            case .say(let text): _ = try? await simulator.send(.text(.init(content: text)), from: user)
            case .event(let content): _ = try? await simulator.send(content, from: user)
            case .wait(let seconds): try? await simulator.wait(seconds: seconds)
            case .resend: break
            }
            simulator.clock.advance(by: Int64(5 + random.next() % 40))
        }
        for var turn in await (simulator.store as! MemoryStore).turns {
            // Answer times as a server has them: mostly a few milliseconds, a tail from calls and busy moments.
            let r = random.next() % 1000
            turn.latencyMicroseconds = r < 900 ? Int64(300 + random.next() % 3000) : r < 995 ? Int64(3000 + random.next() % 30_000) : Int64(50_000 + random.next() % 400_000)
            lines.append(turn)
        }
    }
    lines.sort { $0.time < $1.time }
    // Many commits in flight: the SQLite store groups them into few transactions.
    try await withThrowingTaskGroup(of: Void.self) { group in
        var inFlight = 0
        for (i, line) in lines.enumerated() {
            if inFlight >= 512 { try await group.next(); inFlight -= 1 }
            let record = TurnRecord(key: "loggen|\(options.seed)|\(day)|\(i)", response: .success, time: line.time, user: line.user,
                                    session: .unchanged, log: line)
            group.addTask { try await store.commit(record) }
            inFlight += 1
        }
        try await group.waitForAll()
    }
    written += lines.count
}
// Some users with a human agent now (the 人工 page), their hand-off logged.
for _ in 0..<options.handedOff {
    let user = openid(&random)
    let now = options.end - Int64(random.next() % 600)
    let session = Session(user: user, pausedUntil: now + 1800, updatedAt: now)
    let line = ConversationTurn(time: now, user: user, msgType: "text", message: "转人工", normalized: "转人工", rule: "interrupt:human",
                                intent: nil, reply: "正在为您转接人工客服…", latencyMicroseconds: 900, kind: .handoff)
    try await store.commit(TurnRecord(key: "loggen|\(options.seed)|handoff|\(user)", response: .success, time: now, user: user, session: .save(session), log: line))
    written += 1
}
let seconds = Date().timeIntervalSince(began)
print("kefu-loggen: \(written) lines from \(users) users over \(options.days) days into \(options.store.hasPrefix("postgres") ? "postgres" : options.store) in \(String(format: "%.1f", seconds)) s")
