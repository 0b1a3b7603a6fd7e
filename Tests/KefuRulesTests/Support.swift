@testable import KefuRules

/// Compiles rule files given inline.
func compileRules(_ files: [(String, String)]) throws(RuleSetError) -> CompiledRules {
    try RuleSetCompiler.compile(RuleSetLoader.parse(files: files.map { (path: $0.0, text: $0.1) }))
}

func compileRules(_ yaml: String) throws(RuleSetError) -> CompiledRules {
    try compileRules([("rules.yaml", yaml)])
}

/// The diagnostics a rule set produces: errors if it does not compile, else lint warnings.
/// With `directory`, media files in replies are looked for there.
func diagnostics(_ yaml: String, other: String? = nil, directory: String? = nil) -> [Diagnostic] {
    do {
        var files = [(path: "rules.yaml", text: yaml)]
        if let other { files.append((path: "b.yaml", text: other)) }
        let spec = try RuleSetLoader.parse(files: files, directory: directory)
        return Linter.lint(spec).diagnostics
    } catch {
        return error.diagnostics
    }
}

func winner(_ rules: CompiledRules, _ text: String) -> String? {
    rules.match(.text(text)).winner?.ruleID
}
