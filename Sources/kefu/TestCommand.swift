import ArgumentParser
import Foundation
import KefuCorpus
import KefuRules
import KefuWeChat

struct TestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run conversation tests (Corpora/) against a rule set: pass/fail per case with a diff, coverage, and the change between two rule versions.",
        discussion: """
              kefu test --rules Rules/shop                      # runs Corpora/shop
              kefu test Corpora/shop/after-sales.yaml --rules Rules/shop
              kefu test --rules Rules/shop --coverage --min-coverage 100
              kefu test --rules Rules/shop --against /tmp/shop-before   # which conversations change
              kefu test --rules Rules/shop --wire --junit report.xml     # through signed, encrypted XML; JUnit for CI

            Exit status: 0 when every case passes (and coverage is at least --min-coverage), 1 otherwise.
            See docs/testing.md for the case format.
            """
    )

    @Argument(help: ArgumentHelp("Case files or folders of them (default: Corpora/NAME for --rules …/NAME).", valueName: "paths"))
    var paths: [String] = []
    @Option(help: ArgumentHelp("The rule set to test.", valueName: "rules-dir")) var rules: String
    @Flag(help: "Send every step through WeChat's XML protocol (signed, and encrypted in secure mode) to catch protocol mistakes too.") var wire = false
    @Option(name: .customLong("wire-mode"), help: ArgumentHelp("The mode of --wire: plaintext, compatible or secure (default).", valueName: "mode"))
    var wireMode: String?

    func validate() throws {
        if let wireMode, SecurityMode(rawValue: wireMode) == nil {
            throw ValidationError("--wire-mode must be plaintext, compatible or secure, not '\(wireMode)'")
        }
    }

    var wireSetting: SecurityMode? {
        guard wire || wireMode != nil else { return nil }
        return wireMode.flatMap(SecurityMode.init(rawValue:)) ?? .secure
    }
    @Option(help: ArgumentHelp("Also write a JUnit XML report here.", valueName: "file")) var junit: String?
    @Flag(help: "List the rules, intents, flow steps and re-prompts no case reaches, with the percentage.") var coverage = false
    @Option(help: ArgumentHelp("Fail when coverage is below this percentage (implies --coverage).", valueName: "percent")) var minCoverage: Double?
    @Option(help: ArgumentHelp("Also run every case on this older rule set and list the conversations whose replies change.", valueName: "old-rules-dir"))
    var against: String?
    @Option(help: "Cases run at the same time (default: the number of cores).") var jobs: Int?

    func run() async throws {
        let compiled = try Self.compile(rules)
        let cases = try loadCases()
        let unknown = CorpusCheck.diagnostics(cases, rules: compiled)
        if !unknown.isEmpty {
            printDiagnostics(unknown, sources: Linter.sources(for: unknown))
            throw ExitCode(1)
        }
        let runner = CorpusRunner(rules: compiled, wire: wireSetting)
        let parallelism = jobs ?? ProcessInfo.processInfo.activeProcessorCount
        let progress = Progress(total: cases.count)
        let results = await runner.run(cases, parallelism: parallelism) { done in progress.update(done) }
        progress.finish()
        for result in results {
            print(CaseReport.line(result))
            if !result.passed { print(CaseReport.failure(result)) }
        }
        let failed = results.filter { !$0.passed }.count
        print("\(results.count) cases: \(results.count - failed) passed, \(failed) failed" + (wireSetting.map { " (through the XML protocol, \($0.rawValue) mode)" } ?? ""))
        if let junit {
            let xml = JUnitReport.xml(results) { CaseReport.failure($0) }
            do { try xml.write(toFile: junit, atomically: true, encoding: .utf8) } catch {
                throw ValidationError("cannot write the JUnit report to \(junit): \(error.localizedDescription)")
            }
        }
        var ok = failed == 0
        if coverage || minCoverage != nil {
            let report = Coverage(rules: compiled, results: results)
            print("coverage: \(report.reached) of \(report.items.count) (\(Self.percent(report.percent)))")
            for kind in Coverage.Kind.allCases {
                let items = report.items.filter { $0.kind == kind }
                guard !items.isEmpty else { continue }
                let missing = items.filter { !$0.reached }
                print("  \(kind.plural): \(items.count - missing.count)/\(items.count)")
                for item in missing { print("    not reached: \(item.name)" + (item.location.map { "  (\($0))" } ?? "")) }
            }
            if let minCoverage, report.percent + 1e-9 < minCoverage {
                print("coverage \(Self.percent(report.percent)) is below --min-coverage \(Self.percent(minCoverage))")
                ok = false
            }
        }
        if let against {
            let old = try Self.compile(against)
            let before = await CorpusRunner(rules: old, wire: wireSetting).run(cases, parallelism: parallelism)
            let changes = ConversationChange.compare(old: before, new: results)
            print("against \(against): \(changes.count) of \(cases.count) conversations change")
            for change in changes {
                print("~ \(change.testCase.name)  (\(change.testCase.location))")
                for step in change.steps {
                    print("    step \(step.index + 1): \(step.summary)")
                    for line in CaseReport.diff(step.old, step.new) where !line.hasPrefix("  ") {
                        print("      " + (line.hasPrefix("-") ? "old " : "new ") + line)
                    }
                }
            }
        }
        if !ok { throw ExitCode(1) }
    }

    func loadCases() throws -> [ConversationCase] {
        var paths = self.paths
        if paths.isEmpty {
            let name = URL(fileURLWithPath: rules).standardizedFileURL.lastPathComponent
            let guess = "Corpora/\(name)"
            guard FileManager.default.fileExists(atPath: guess) else {
                throw ValidationError("no case files given and \(guess) does not exist; pass the case files or folders to run")
            }
            paths = [guess]
        }
        do {
            let cases = try CorpusLoader.load(paths: paths)
            if cases.isEmpty { throw ValidationError("no cases in \(paths.joined(separator: ", "))") }
            return cases
        } catch let error as CorpusError {
            printDiagnostics(error.diagnostics, sources: Linter.sources(for: error.diagnostics))
            throw ExitCode(1)
        }
    }

    static func compile(_ directory: String) throws -> CompiledRules {
        do {
            return try RuleSetCompiler.compile(directory: directory)
        } catch {
            printDiagnostics(error.diagnostics, sources: Linter.sources(for: error.diagnostics))
            throw ExitCode(1)
        }
    }

    static func percent(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)%"
    }

    /// "12/40 cases" on the terminal (stderr), rewritten in place; silent when not a terminal.
    final class Progress: @unchecked Sendable {
        let total: Int
        let enabled = isatty(2) == 1
        let lock = NSLock()
        init(total: Int) { self.total = total }
        func update(_ done: Int) {
            guard enabled else { return }
            lock.withLock { FileHandle.standardError.write(Data("\r  \(done)/\(total) cases".utf8)) }
        }
        func finish() {
            guard enabled else { return }
            FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        }
    }
}
