import ArgumentParser
import Foundation
import KefuRules
import KefuStore

struct Lint: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a rule set: errors with file:line:col and a fix, and warnings about rules that cannot work as meant.",
        discussion: """
            Exit status: 0 when there is no error (warnings allowed), 1 when there are errors,
            or warnings with --strict.
              kefu lint Rules/shop
              kefu lint Rules/shop --strict --format json
              kefu lint Rules/shop --store sqlite:kefu-data/kefu.sqlite   # also: subscribe/scan scenes without a QR code
            """
    )

    enum Format: String, ExpressibleByArgument { case text, json }

    @OptionGroup var rules: RuleSetArgument
    @Option(help: "text (for people) or json (for editors and scripts).") var format = Format.text
    @Flag(help: "Fail (exit 1) on warnings too.") var strict = false
    @Option(help: "The store kefu qr create recorded QR codes in (sqlite:PATH): warn about subscribe:/scan: scenes no live code has.")
    var store: String?

    struct Output: Encodable {
        struct Item: Encodable {
            let severity, code, file: String
            let line, column: Int
            let message: String
            let hint: String?
        }
        let diagnostics: [Item]
        let errors, warnings, rules: Int
    }

    func run() throws {
        var report = Linter.lint(directory: rules.directory)
        if let store, let compiled = report.compiled {
            guard store.hasPrefix("sqlite:") else { throw ValidationError("--store \(store): QR codes are recorded in a sqlite:PATH store.") }
            let sqlite = try SQLiteStore(path: String(store.dropFirst("sqlite:".count)), exclusive: false)
            let scenes = try sqlite.liveQRScenes(at: Int64(Date().timeIntervalSince1970))
            report.diagnostics = (report.diagnostics + SceneCheck.run(compiled, liveScenes: scenes)).sorted()
        }
        let ruleCount = report.compiled?.rules.count ?? 0
        switch format {
        case .json:
            print(jsonLine(Output(
                diagnostics: report.diagnostics.map {
                    .init(severity: $0.severity.rawValue, code: $0.code, file: $0.location.file, line: $0.location.line,
                          column: $0.location.column, message: $0.message, hint: $0.hint)
                },
                errors: report.errors.count, warnings: report.warnings.count, rules: ruleCount)))
        case .text:
            for diagnostic in report.diagnostics { print(diagnostic.render(source: report.sources[diagnostic.location.file])) }
            if report.errors.isEmpty {
                print("\(rules.directory): \(ruleCount) rules, \(report.warnings.count) warning\(report.warnings.count == 1 ? "" : "s")")
            } else {
                print("\(rules.directory): \(report.errors.count) error\(report.errors.count == 1 ? "" : "s"), \(report.warnings.count) warning\(report.warnings.count == 1 ? "" : "s"); nothing was compiled")
            }
        }
        if !report.errors.isEmpty || (strict && !report.warnings.isEmpty) { throw ExitCode(1) }
    }
}
