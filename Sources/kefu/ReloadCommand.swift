import ArgumentParser
import Foundation
import KefuPostgres
import KefuServer

/// `kefu reload`: every instance of a deployment reloads its rule set.
struct ReloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Reload the rule set in every kefu serve of the deployment.",
        discussion: """
            With PostgreSQL the request goes through the database: every instance of the account reloads
            within a few seconds (each keeps its rule set if the new files do not compile; see /status).
            With SQLite it sends SIGHUP to the kefu serve that owns the file.
              kefu reload --store postgres://kefu@db.internal:5432/kefu            # password: KEFU_STORE_PASSWORD_FILE
              kefu reload --store postgres://… --account wx0123456789abcdef       # one account of several
              kefu reload --store sqlite:kefu-data/kefu.sqlite
            """
    )

    @Option(help: "The store kefu serve uses: postgres://USER@HOST:PORT/DATABASE or sqlite:PATH (default sqlite:kefu-data/kefu.sqlite; also KEFU_STORE).")
    var store: String?
    @Option(help: "The account whose instances reload (its appid; default KEFU_APPID, else \"default\").")
    var account: String?
    @Option(help: "Why, for the instances' logs.") var reason = "kefu reload"

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let text = store ?? StoreArgument.fromEnvironment ?? "sqlite:kefu-data/kefu.sqlite"
        switch try StoreArgument.parse(text) {
        case .postgres(let location):
            let database = PostgresDatabase(location)
            do { try await database.prepare(register: false) } catch { throw StartFailure("\(error)") }
            let name = account ?? environment["KEFU_APPID"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
            let store = PostgresStore(database: database, account: name)
            let seq = try await store.requestReload(reason: reason, at: Int64(Date().timeIntervalSince1970))
            let alive = try await database.instances(at: Int64(Date().timeIntervalSince1970)).filter(\.alive)
            print("reload #\(seq) asked of account \(name): \(alive.count) instance\(alive.count == 1 ? "" : "s") alive; each reloads within a few seconds (see /status)")
        case .sqlite(let path):
            // The owner's pid is in the lock file kefu serve holds.
            guard let contents = FileManager.default.contents(atPath: path + ".lock"),
                  let pid = Int32(String(decoding: contents, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw StartFailure("no kefu serve holds \(path) (no pid in \(path).lock): start it, or reload it with kill -HUP PID")
            }
            guard kill(pid, 0) == 0 else { throw StartFailure("the kefu serve recorded in \(path).lock (pid \(pid)) is not running") }
            guard kill(pid, SIGHUP) == 0 else { throw StartFailure("could not signal pid \(pid): \(String(cString: strerror(errno)))") }
            print("sent SIGHUP to kefu serve (pid \(pid)); see /status for the result")
        case .memory:
            throw ValidationError("--store \(PostgresLocation.redacted(text)): give the store kefu serve uses, postgres://… or sqlite:PATH")
        }
    }
}
