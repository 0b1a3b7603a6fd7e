/// `kefu lint`: every error that stops a rule set from compiling, then the warnings about rules
/// that compile but probably do not do what their author meant.
public struct LintReport: Sendable {
    public var diagnostics: [Diagnostic]
    /// The compiled rule set, when there is no error.
    public var compiled: CompiledRules?
    public var sources: [String: String]

    public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
    public var warnings: [Diagnostic] { diagnostics.filter { $0.severity == .warning } }
}

/// One check over a compiled rule set. Each lives in its own small type (see `Checks.swift`) and
/// ``Linter/checks`` runs them all.
protocol LintCheck: Sendable {
    func run(_ rules: CompiledRules) -> [Diagnostic]
}

public enum Linter {
    static let checks: [any LintCheck] = [
        ShadowedRuleCheck(), DuplicateKeywordCheck(), RegexCheck(), IntentCheck(), ReplyCheck(), DefaultReplyCheck(),
        FlowNotEnteredCheck(), FlowStepCheck(), FlowEntryCheck(), FlowEndTextCheck(), SoftCancelCheck(), UnusedHoursCheck(), ScheduledTextWindowCheck(), TemplateValueLengthCheck(),
        MenuDuplicateKeyCheck(), MenuEventUnansweredCheck(), ClickNotInMenuCheck(),
        SavePathNotInSampleCheck(), ServiceNotCalledCheck(), CallTimingCheck(),
    ]

    /// The files of `directory`: load errors, or compile errors, or lint warnings; and, with any of
    /// them, a warning for each file whose last line has no newline (a reload refuses those).
    public static func lint(directory: String) -> LintReport {
        let loaded: (spec: RuleSetSpec, warnings: [Diagnostic])
        do {
            loaded = try RuleSetLoader.load(directory: directory, unfinished: .warn)
        } catch {
            // The part that loaded is checked too, so that one run shows everything (PartialRuleSet.swift).
            let diagnostics = error.diagnostics + (error.loaded?.lintWarnings() ?? [])
            return LintReport(diagnostics: diagnostics.sorted(), compiled: nil, sources: Self.sources(for: diagnostics))
        }
        var report = lint(loaded.spec)
        report.diagnostics = (report.diagnostics + loaded.warnings).sorted()
        return report
    }

    public static func lint(_ spec: RuleSetSpec) -> LintReport {
        let compiled: CompiledRules
        do {
            compiled = try RuleSetCompiler.compile(spec)
        } catch {
            let warnings = PartialRuleSet(spec: spec, complete: true).lintWarnings()
            return LintReport(diagnostics: (error.diagnostics + warnings).sorted(), compiled: nil, sources: spec.sources)
        }
        let warnings = checks.flatMap { $0.run(compiled) }.sorted()
        return LintReport(diagnostics: warnings, compiled: compiled, sources: spec.sources)
    }

    /// The text of each file the diagnostics name (read again), so that they can quote their lines.
    public static func sources(for diagnostics: [Diagnostic]) -> [String: String] {
        var sources: [String: String] = [:]
        for file in Set(diagnostics.map(\.location.file)) {
            if let text = try? String(contentsOfFile: file, encoding: .utf8) { sources[file] = text }
        }
        return sources
    }
}
