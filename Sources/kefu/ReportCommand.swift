import ArgumentParser
import Foundation
import KefuAnalytics
import KefuConsole
import KefuDialogue
import KefuPostgres
import KefuRules
import KefuStore

/// `kefu report`: the console's analytics over a period as one self-contained HTML file (charts
/// inlined, opens offline) or JSON for scripts.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "The console's analytics for a period as one self-contained HTML file (or JSON), from the conversation log.",
        discussion: """
              kefu report --since 7d -o report.html
              kefu report --since 30d --rules Rules/shop --store sqlite:kefu-data/kefu.sqlite -o report.html
              kefu report --since 7d --store postgres://kefu@db:5432/kefu --account wx3f2a1b4c5d6e7f80 --format json

            The period ends today (in the rule set's time zone, +08:00 without --rules). With --rules the report
            also names the rules never hit in 30 days, every flow's steps and the lint warnings.
            Closed days are counted once and kept in the store (day rollups), so later reports are quick.
            """
    )

    @Option(help: ArgumentHelp("The period: 7d, 30d, 24h … (whole days, ending today).", valueName: "duration")) var since = "7d"
    @Option(help: "The store kefu serve uses: sqlite:PATH or postgres://USER@HOST:PORT/DATABASE (default: KEFU_STORE, else sqlite:kefu-data/kefu.sqlite).")
    var store: String?
    @Option(help: "With PostgreSQL: the account (appid) whose log to read (default: KEFU_APPID, else default).") var account: String?
    @Option(help: ArgumentHelp("The rule set the server runs (rule ids, flow steps, lint warnings, time zone).", valueName: "rules-dir")) var rules: String?
    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Write the report to this file (default: standard output).", valueName: "file")) var output: String?
    @Option(help: "html (one self-contained file) or json.") var format = "html"
    @Option(help: "The report's heading (default: the account, or Kefu).") var title: String?

    func validate() throws {
        guard let seconds = DurationText.seconds(since), seconds > 0 else {
            throw ValidationError("--since \(since): a duration such as 7d, 30d or 24h.")
        }
        guard ["html", "json"].contains(format) else { throw ValidationError("--format \(format): html or json.") }
    }

    func run() async throws {
        let started = Date()
        var compiled: CompiledRules?
        if let rules {
            do { compiled = try RuleSetCompiler.compile(directory: rules) } catch {
                printDiagnostics(error.diagnostics, sources: Linter.sources(for: error.diagnostics))
                throw ExitCode(1)
            }
        }
        let storeText = store ?? StoreArgument.fromEnvironment ?? "sqlite:kefu-data/kefu.sqlite"
        let log: any ConversationLog
        let accountName = account ?? ProcessInfo.processInfo.environment["KEFU_APPID"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        switch try StoreArgument.parse(storeText) {
        case .sqlite(let path):
            guard FileManager.default.fileExists(atPath: path) else {
                throw ValidationError("--store \(storeText): no such file (kefu serve writes its log there; give --store the one it uses).")
            }
            log = try SQLiteStore(path: path, exclusive: false)
        case .postgres(let location):
            let database = PostgresDatabase(location)
            do { try await database.prepare(register: false) } catch { throw StartFailure("\(error)") }
            log = PostgresStore(database: database, account: accountName)
        case .memory:
            throw ValidationError("--store memory: a report reads the log kefu serve kept in sqlite:PATH or postgres://….")
        }
        let offset = Int(compiled?.settings.utcOffset ?? 8 * 3600)
        let analyst = LogAnalyst(log: log, utcOffset: offset)
        let now = Int64(Date().timeIntervalSince1970)
        let today = analyst.days.day(of: now)
        let days = Int((DurationText.seconds(since)! + 86_399) / 86_400)
        let first = today - days + 1
        let period = try await analyst.rollups(from: first, through: today, now: now)
        let last30 = days == 30 ? period : try await analyst.rollups(from: today - 29, through: today, now: now)
        let unanswered = try await log.unansweredLines(from: analyst.days.start(of: first), until: analyst.days.start(of: today + 1), limit: 5_000)
        let report = Report.make(period: period, last30: last30, rules: compiled, unanswered: unanswered, days: analyst.days, now: now)
        let text: String
        if format == "json" {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            text = String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
        } else {
            let warnings = rules.map { directory in
                Linter.lint(directory: directory).diagnostics.map { d in
                    (d.code, "\(Report.shortFile(d.location.file)):\(d.location.line):\(d.location.column)", d.message + (d.hint.map { "\n→ " + $0 } ?? ""))
                }
            } ?? []
            text = ReportDocument.html(report, title: title ?? (accountName == "default" ? "Kefu" : accountName), chartLibrary: ChartLibrary.find(),
                                       days: analyst.days, warnings: warnings)
        }
        if let output {
            do { try text.write(toFile: output, atomically: true, encoding: .utf8) } catch {
                throw ValidationError("cannot write \(output): \(error.localizedDescription)")
            }
            var stderr = StandardError()
            print("kefu report: \(report.messages) messages, \(report.from) to \(report.through), written to \(output) in "
                  + String(format: "%.1f s", Date().timeIntervalSince(started)), to: &stderr)
        } else {
            print(text, terminator: "")
        }
    }
}
