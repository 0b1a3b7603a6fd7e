import KefuRules

/// `kefu serve --gate CORPUS`: a rule set may go live only if every conversation of its corpus passes.
public struct CorpusGate: Sendable {
    public let paths: [String]
    public let cases: [ConversationCase]

    /// Loads the corpus once; its files are read again on each check so that a corpus edited with the rules counts.
    public init(paths: [String]) throws(CorpusError) {
        self.paths = paths
        cases = try CorpusLoader.load(paths: paths)
    }

    /// Nil when every case passes on `rules`, else a one-paragraph reason naming the first failures.
    public func check(_ rules: CompiledRules) async -> String? {
        let current: [ConversationCase]
        do { current = try CorpusLoader.load(paths: paths) } catch { return "the corpus \(paths.joined(separator: ", ")) has errors: \(error.diagnostics.first?.render() ?? "")" }
        if let first = CorpusCheck.diagnostics(current, rules: rules).first {
            return "the corpus names what the rule set does not have: \(first.location): \(first.message)"
        }
        let results = await CorpusRunner(rules: rules).run(current)
        let failed = results.filter { !$0.passed }
        guard !failed.isEmpty else { return nil }
        let first = failed.prefix(3).map { result -> String in
            if let f = result.failures.first { return "“\(result.testCase.name)” (\(f.location)): \(f.key) expected \(f.expected), got \(f.actual)" }
            return "“\(result.testCase.name)”: \(result.error ?? "failed")"
        }
        return "\(failed.count) of \(results.count) corpus cases fail: " + first.joined(separator: "; ")
    }
}
