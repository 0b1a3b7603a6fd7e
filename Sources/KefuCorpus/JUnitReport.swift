/// JUnit XML for CI systems: one `<testsuite>` per case file, one `<testcase>` per conversation.
public enum JUnitReport {
    public static func xml(_ results: [CaseResult], describe: (CaseResult) -> String) -> String {
        var files: [String: [CaseResult]] = [:]
        var order: [String] = []
        for result in results {
            let file = result.testCase.location.file
            if files[file] == nil { order.append(file) }
            files[file, default: []].append(result)
        }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        let failed = results.filter { !$0.passed }.count
        out += "<testsuites name=\"kefu test\" tests=\"\(results.count)\" failures=\"\(failed)\">\n"
        for file in order {
            let cases = files[file]!
            let seconds = cases.map(\.seconds).reduce(0, +)
            out += "  <testsuite name=\"\(escape(file))\" tests=\"\(cases.count)\" failures=\"\(cases.filter { !$0.passed }.count)\" time=\"\(format(seconds))\">\n"
            for result in cases {
                out += "    <testcase name=\"\(escape(result.testCase.name))\" classname=\"\(escape(file))\" time=\"\(format(result.seconds))\""
                if result.passed {
                    out += "/>\n"
                } else {
                    let first = result.failures.first.map { "\($0.key): expected \($0.expected)" } ?? result.error ?? "failed"
                    out += ">\n      <failure message=\"\(escape(first.replacingOccurrences(of: "\n", with: "⏎")))\">\(escape(describe(result)))</failure>\n    </testcase>\n"
                }
            }
            out += "  </testsuite>\n"
        }
        return out + "</testsuites>\n"
    }

    static func format(_ seconds: Double) -> String {
        let ms = Int((seconds * 1000).rounded())
        return "\(ms / 1000).\(String(repeating: "0", count: 3 - String(ms % 1000).count))\(ms % 1000)"
    }

    /// XML-escaped text without characters XML 1.0 forbids.
    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value >= 0x20 && scalar.value != 0xFFFE && scalar.value != 0xFFFF { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }
}
