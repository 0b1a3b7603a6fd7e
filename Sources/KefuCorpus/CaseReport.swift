/// The words `kefu test` prints: a line per case, and for a failing one each unmet expectation with
/// expected and actual side by side (a line diff for multi-line replies).
public enum CaseReport {
    public static func line(_ result: CaseResult) -> String {
        "\(result.passed ? "✔" : "✘") \(result.testCase.name)  (\(result.testCase.location))"
    }

    public static func failure(_ result: CaseResult) -> String {
        var lines: [String] = []
        var lastStep = -1
        for failure in result.failures {
            if failure.step != lastStep {
                let step = result.testCase.steps[failure.step]
                lines.append("    step \(failure.step + 1): \(step.summary)  (\(step.location))")
                lastStep = failure.step
            }
            if failure.key == "reply", failure.expected.contains("\n") || failure.actual.contains("\n") {
                lines.append("      reply differs (- expected, + actual):")
                lines += diff(failure.expected, failure.actual).map { "        " + $0 }
            } else {
                lines.append("      \(failure.key)")
                lines.append("        expected: \(failure.expected.replacingOccurrences(of: "\n", with: "⏎"))")
                lines.append("        actual:   \(failure.actual.replacingOccurrences(of: "\n", with: "⏎"))")
            }
        }
        if let error = result.error { lines.append("    stopped at \(error)") }
        return lines.joined(separator: "\n")
    }

    /// A line diff (longest common subsequence): "  same", "- expected only", "+ actual only".
    public static func diff(_ expected: String, _ actual: String) -> [String] {
        let a = expected.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = actual.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var lcs = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        var out: [String] = []
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if i < a.count, j < b.count, a[i] == b[j] { out.append("  " + a[i]); i += 1; j += 1 }
            else if i < a.count, j == b.count || lcs[i + 1][j] >= lcs[i][j + 1] { out.append("- " + a[i]); i += 1 }
            else { out.append("+ " + b[j]); j += 1 }
        }
        return out
    }
}
