import Foundation
import KefuRules
import Synchronization
import KefuTestSupport
import Testing
@testable import KefuCorpus

/// Every input under Fuzz/regressions/{FuzzRules,FuzzCases}/ (what the fuzzers found, and hand-made
/// hostile YAML: alias bombs, deep nesting, invalid UTF-8, absurd numbers), fed to the same entry points
/// as the fuzz targets in Fuzz/Sources: the input as the one rules file of a folder (loaded, then
/// compiled) and as one case file. Each must load or be refused with located diagnostics, within a
/// budget counted in iterations of a reference task (parsing a small rules file), not in seconds.
@Suite("Fuzz regressions: rule files and case files")
struct LoaderFuzzRegressionTests {
    static let referenceRules = """
        default: 抱歉，没有理解。
        events: {subscribe: 欢迎关注！}
        rules:
          - {id: hello, when: {exact: [你好]}, reply: 您好！}
          - {id: fee, when: {contains: [运费]}, reply: 满 99 元包邮。}
          - {id: menu, when: {click: MENU_INFO}, reply: {news: {title: 联系我们, url: 'https://x.example/c'}}}
        """
    static func reference() { _ = try? RuleSetLoader.parse(files: [(path: "reference.yaml", text: referenceRules)]) }
    /// The costliest input here (a PCRE2 pattern of 3000 groups) takes about 200 references in a debug
    /// build; a hang exhausts any budget.
    static let budget = 20_000

    /// What went wrong in one run: empty if nothing did.
    typealias Problems = [String]

    /// FuzzRules: load the folder, compile what loads; errors rendered with their source as `kefu lint` does.
    static func rules(_ bytes: [UInt8], in folder: URL) -> Problems {
        let file = folder.appendingPathComponent("rules.yaml")
        try! Data(bytes).write(to: file)
        do {
            let spec = try RuleSetLoader.load(directory: folder.path)
            _ = try RuleSetCompiler.compile(spec)
            return []
        } catch {
            return unclear(error.diagnostics, source: bytes)
        }
    }

    /// FuzzCases: load the input as one case file.
    static func cases(_ bytes: [UInt8], in folder: URL) -> Problems {
        let file = folder.appendingPathComponent("cases.yaml")
        try! Data(bytes).write(to: file)
        do {
            _ = try CorpusLoader.load(paths: [file.path])
            return []
        } catch {
            return unclear(error.diagnostics, source: bytes)
        }
    }

    /// A clear refusal: at least one error, each with a message, a code and a line in the file.
    static func unclear(_ diagnostics: [Diagnostic], source: [UInt8]) -> Problems {
        let text = String(decoding: source, as: UTF8.self)
        if diagnostics.isEmpty { return ["refused with no diagnostic"] }
        return diagnostics.compactMap { d in
            _ = d.render(source: text)
            if d.message.isEmpty || d.code.isEmpty { return "a diagnostic without message or code: \(d.render())" }
            if d.location.line < 1 || d.location.column < 1 { return "a diagnostic without a location: \(d.render())" }
            return nil
        }
    }

    @Test("every FuzzRules regression input loads or is refused clearly, within budget")
    func ruleInputs() throws { try replay("FuzzRules", Self.rules) }

    @Test("every FuzzCases regression input loads or is refused clearly, within budget")
    func caseInputs() throws { try replay("FuzzCases", Self.cases) }

    func replay(_ target: String, _ entry: @escaping @Sendable ([UInt8], URL) -> Problems) throws {
        let inputs = try RegressionInputs.files(target)
        #expect(inputs.count >= 8, "Fuzz/regressions/\(target)/ should hold the hand-made inputs at least")
        for (name, bytes) in inputs {
            // A folder per input: an input that overruns its budget may still be running on its thread.
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-fuzz-regression-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let outcome = RegressionInputs.run(budget: Self.budget, reference: Self.reference) { entry(bytes, folder) }
            switch outcome {
            case .overBudget:
                Issue.record("\(target)/\(name): not done after \(Self.budget) reference parses (a hang, or work far beyond linear)")
            case .finished(let problems, _):
                for problem in problems { Issue.record("\(target)/\(name): \(problem)") }
                try? FileManager.default.removeItem(at: folder)
            }
        }
    }

    @Test("hostile YAML is refused with the expected diagnostic")
    func hostileYAML() throws {
        func codes(_ target: String, _ name: String) throws -> Set<String> {
            let bytes = try #require(RegressionInputs.files(target).first { $0.name == name }?.bytes, "missing \(name)")
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-fuzz-regression-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let file = folder.appendingPathComponent(target == "FuzzRules" ? "rules.yaml" : "cases.yaml")
            try Data(bytes).write(to: file)
            do {
                if target == "FuzzRules" {
                    _ = try RuleSetCompiler.compile(RuleSetLoader.load(directory: folder.path))
                } else {
                    _ = try CorpusLoader.load(paths: [file.path])
                }
                return []
            } catch let error as RuleSetError {
                return Set(error.diagnostics.map(\.code))
            } catch let error as CorpusError {
                return Set(error.diagnostics.map(\.code))
            }
        }
        #expect(try codes("FuzzRules", "hand-invalid-utf8.yaml") == ["not-utf8"])
        #expect(try codes("FuzzCases", "hand-invalid-utf8.yaml") == ["unreadable-file"])
        #expect(try codes("FuzzCases", "crash-98243c5da563768b44bfbbe59fad744af6164731") == ["bad-duration"])
        #expect(try codes("FuzzCases", "hand-wait-huge.yaml") == ["bad-duration"])
        #expect(try codes("FuzzRules", "hand-duration-overflow.yaml") == ["bad-duration"])
        #expect(try codes("FuzzRules", "hand-duration-near-max.yaml") == ["bad-duration"])
        for target in ["FuzzRules", "FuzzCases"] {
            for name in ["hand-alias-bomb.yaml", "hand-deep-flow-nesting.yaml", "hand-deep-block-nesting.yaml",
                         "hand-undefined-alias.yaml"] {
                #expect(try !codes(target, name).isEmpty, "\(target)/\(name) should be refused")
            }
            #expect(try codes(target, "hand-empty.yaml").isEmpty, "an empty file is an empty rule set or case file")
        }
    }
}

@Suite("Fuzz regressions: durations")
struct DurationFuzzRegressionTests {
    @Test("a duration whose seconds overflow Int64, or pass 100 years, is not a duration (found by FuzzCases)")
    func overflow() {
        #expect(DurationText.seconds("999999999999999999d") == nil)  // trapped on n * 86400 before
        #expect(DurationText.seconds("9223372036854775807s") == nil)
        #expect(DurationText.seconds("36500d") == 3_153_600_000)
        #expect(DurationText.seconds("36501d") == nil)
        #expect(DurationText.seconds("90s") == 90)
    }
}
