import ArgumentParser
import Foundation
import KefuDialogue
import KefuPostgres
import KefuStore

/// `kefu outbox`: what the outbox holds — for an operator who sees `unknown` or `failed` in /status
/// and wants to know which customer did or did not get what (runs beside `kefu serve`).
struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "List the messages sent (or to be sent) through WeChat's API: late answers, later parts, reminders.",
        discussion: """
            One line per message, oldest first: id, state, kind, customer, when due, what it says, and why (errcode).
              kefu outbox --state unknown           # sent, but whether WeChat delivered it is not known: check before resending by hand
              kefu outbox --state pending           # waiting: scheduled reminders and messages to try again
              kefu outbox --user oAbc… --store sqlite:kefu-data/kefu.sqlite
            """
    )

    @Option(help: "The store kefu serve uses: sqlite:PATH or postgres://USER@HOST:PORT/DATABASE (password: KEFU_STORE_PASSWORD_FILE).")
    var store = "sqlite:kefu-data/kefu.sqlite"
    @Option(help: "With PostgreSQL: the account (its appid; default KEFU_APPID, else \"default\").") var account: String?
    @Option(help: "Only this state: \(OutboxState.allCases.map(\.rawValue).joined(separator: ", ")).") var state: String?
    @Option(help: "Only this customer (openid).") var user: String?
    @Option(help: "At most this many, the newest.") var limit = 200

    func run() async throws {
        var wanted: OutboxState?
        if let state {
            guard let parsed = OutboxState(rawValue: state) else {
                throw ValidationError("--state \(state): one of \(OutboxState.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            wanted = parsed
        }
        let outbox: any ConversationStore
        switch try StoreArgument.parse(store) {
        case .postgres(let location):
            let database = PostgresDatabase(location)
            do { try await database.prepare(register: false) } catch { throw StartFailure("\(error)") }
            outbox = PostgresStore(database: database, account: account ?? ProcessInfo.processInfo.environment["KEFU_APPID"].flatMap { $0.isEmpty ? nil : $0 } ?? "default")
        case .sqlite(let path):
            guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("--store \(store): no such file.") }
            outbox = try SQLiteStore(path: path, exclusive: false)
        case .memory:
            throw ValidationError("--store memory: the outbox is kept in a sqlite:PATH or postgres://… store.")
        }
        let entries = try await outbox.outboxEntries(for: user).filter { wanted == nil || $0.state == wanted }.suffix(limit)
        if entries.isEmpty { print("no outbox messages" + (wanted.map { " in state \($0.rawValue)" } ?? "") + (user.map { " for \($0)" } ?? "")); return }
        let formatter = ISO8601DateFormatter()
        for entry in entries {
            var line = "\(entry.id)\t\(entry.state.rawValue)\t\(entry.message.kind.rawValue)\t\(entry.message.user)\t"
                + formatter.string(from: Date(timeIntervalSince1970: TimeInterval(entry.message.due))) + "\t"
                + entry.message.content.preview.replacingOccurrences(of: "\n", with: " ⏎ ")
            if let flow = entry.message.flow { line += "\t(\(flow)/\(entry.message.name ?? ""))" }
            if let detail = entry.detail { line += "\t\(detail)" }
            if let delivery = entry.delivery { line += "\tWeChat: \(delivery)" }
            print(line)
        }
    }
}
