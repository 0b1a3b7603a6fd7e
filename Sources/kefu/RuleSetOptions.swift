import ArgumentParser
import Foundation
import KefuRules

/// The rule-set folder argument shared by lint, explain and match.
struct RuleSetArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("The rule set: a folder of .yaml rule files.", valueName: "rules-dir"))
    var directory: String

    /// Compiles the rule set or prints its errors (as lint would) and exits 1.
    func compile() throws -> CompiledRules {
        do {
            return try RuleSetCompiler.compile(directory: directory)
        } catch {
            printDiagnostics(error.diagnostics, sources: Linter.sources(for: error.diagnostics))
            throw ExitCode(1)
        }
    }
}

func printDiagnostics(_ diagnostics: [Diagnostic], sources: [String: String]) {
    var stderr = StandardError()
    for diagnostic in diagnostics {
        print(diagnostic.render(source: sources[diagnostic.location.file]), to: &stderr)
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) { FileHandle.standardError.write(Data(string.utf8)) }
}

/// JSON with sorted keys and unescaped slashes and Chinese, one line.
func jsonLine<T: Encodable>(_ value: T) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self)
}
