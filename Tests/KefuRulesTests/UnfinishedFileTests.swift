import Foundation
import KefuTestSupport
import Testing
@testable import KefuRules

/// Rule files caught while they are still being written (an editor saving in place, `cp` half
/// done), and what a reload changes file by file.
@Suite("Unfinished rule files and reload changes")
struct UnfinishedFileTests {
    static let faq = SampleRuleFiles.faq

    /// A folder of rule files, removed afterwards.
    static func folder(_ files: [String: Data]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-unfinished-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, data) in files { try data.write(to: dir.appendingPathComponent(name)) }
        return dir
    }

    static func errors(_ dir: URL, _ unfinished: RuleSetLoader.UnfinishedFiles) -> [Diagnostic] {
        do {
            _ = try RuleSetLoader.load(directory: dir.path, unfinished: unfinished)
            return []
        } catch {
            return error.diagnostics
        }
    }

    @Test("cut at a rule boundary without the final newline: a reload refuses it, located at the end of the last line")
    func cutAtBoundary() throws {
        // The first two rules; the newline after the second rule's reply is not written yet.
        let cut = Self.faq.split(separator: "\n").prefix(7).joined(separator: "\n")
        #expect(cut.hasSuffix("reply: 48 小时内发货。"))
        let dir = try Self.folder(["faq.yaml": Data(cut.utf8)])
        defer { try? FileManager.default.removeItem(at: dir) }
        let found = Self.errors(dir, .refuse(unlessUnchangedFrom: [:]))
        #expect(found.map(\.code) == ["unfinished-file"])
        let d = try #require(found.first)
        #expect(d.severity == .error)
        #expect(d.location == SourceLocation(file: dir.path + "/faq.yaml", line: 7, column: 21), "\(d.location)")
        #expect(d.message.contains("the file ends in the middle of a line (line 7 has no newline at its end) — it may still be being written"))
        #expect(d.hint?.contains("save it again, or publish by writing a temp file in the same folder and renaming it") == true)
        // The caret stands after the last character (CJK characters are two columns wide).
        #expect(d.render(source: cut).contains("    reply: 48 小时内发货。\n" + String(repeating: " ", count: 4 + 14 + 12) + "^\n"), "\(d.render(source: cut))")
        // Starting the server (nothing live yet) and `kefu chat` accept it; `kefu lint` warns.
        #expect(Self.errors(dir, .accept).isEmpty)
        let loaded = try RuleSetLoader.load(directory: dir.path, unfinished: .warn)
        #expect(loaded.spec.rules.map(\.id) == ["fee", "time"])
        #expect(loaded.warnings.map(\.code) == ["unfinished-file"] && loaded.warnings[0].severity == .warning)
        #expect(loaded.warnings[0].message.contains("a running kefu serve refuses to reload such a file"))
        let lint = Linter.lint(directory: dir.path)
        #expect(lint.errors.isEmpty && lint.warnings.filter { $0.code == "unfinished-file" }.count == 1, "\(lint.diagnostics)")
    }

    @Test("a file the live rule set was read from, unchanged, is not refused for its missing newline")
    func unchangedIsNotRefused() throws {
        let text = String(Self.faq.dropLast())
        let dir = try Self.folder(["faq.yaml": Data(text.utf8), "other.yaml": Data("default: 抱歉\n".utf8)])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(Self.errors(dir, .refuse(unlessUnchangedFrom: [dir.path + "/faq.yaml": text])).isEmpty)
        #expect(Self.errors(dir, .refuse(unlessUnchangedFrom: [dir.path + "/faq.yaml": text + "x"])).map(\.code) == ["unfinished-file"])
    }

    @Test("every error at once: an unfinished file, what its cut causes, and another file's error")
    func allAtOnce() throws {
        // Cut inside a key: the YAML of the last line is broken too.
        let cut = String(Self.faq.split(separator: "\n").prefix(6).joined(separator: "\n")) + "\n    rep"
        let other = "rules:\n  - id: x\n    when: {contains: [y]}\n    repy: z\n"
        let dir = try Self.folder(["a.yaml": Data(cut.utf8), "b.yaml": Data(other.utf8)])
        defer { try? FileManager.default.removeItem(at: dir) }
        let found = Self.errors(dir, .refuse(unlessUnchangedFrom: [:]))
        #expect(Set(found.map(\.code)) == ["unfinished-file", "yaml-syntax", "unknown-key"], "\(found.map { $0.render() })")
        let unfinished = try #require(found.first { $0.code == "unfinished-file" })
        #expect(unfinished.location == SourceLocation(file: dir.path + "/a.yaml", line: 7, column: 8))
        #expect(found.contains { $0.code == "unknown-key" && $0.location.file.hasSuffix("b.yaml") && $0.location.line == 4 })
        // File order: a.yaml's errors before b.yaml's.
        #expect(found.firstIndex { $0.location.file.hasSuffix("b.yaml") }! > found.lastIndex { $0.location.file.hasSuffix("a.yaml") }!)
    }

    @Test("cut in the middle of a UTF-8 character: refused everywhere, located, saying so")
    func cutCharacter() throws {
        var bytes = Array("rules:\n  - id: fee\n    when: {contains: [运费]}\n    reply: 满 99 元包".utf8)
        bytes.removeLast()  // 包 is three bytes; two arrived
        let dir = try Self.folder(["faq.yaml": Data(bytes)])
        defer { try? FileManager.default.removeItem(at: dir) }
        for policy in [RuleSetLoader.UnfinishedFiles.accept, .warn, .refuse(unlessUnchangedFrom: [:])] {
            let found = Self.errors(dir, policy)
            #expect(found.map(\.code) == ["unfinished-file"])
            #expect(found.first?.location == SourceLocation(file: dir.path + "/faq.yaml", line: 4, column: 18))
            #expect(found.first?.message.contains("the file ends in the middle of a character (2 of its 3 UTF-8 bytes) — it may still be being written") == true)
        }
        // Not UTF-8 in the middle: still the encoding error.
        let latin = try Self.folder(["faq.yaml": Data([0x72, 0x3A, 0x20, 0xE9, 0x0A])])
        defer { try? FileManager.default.removeItem(at: latin) }
        #expect(Self.errors(latin, .accept).map(\.code) == ["not-utf8"])
    }

    @Test("a file that ends inside a flow collection or a quoted text: a YAML error that says the file ends there")
    func endsInsideYAML() throws {
        let cases: [(text: String, line: Int, says: String)] = [
            ("rules:\n  - id: fee\n    when: {contains: [运费, 邮费\n", 4, "the file ends inside the [ … ] list that opens at line 3, column 22"),
            ("rules:\n  - {id: fee, when: {contains: [运费]}, reply: 满 99\n", 3, "the file ends inside the { … } mapping that opens at line 2, column 5"),
            ("rules:\n  - id: fee\n    when: {contains: [运费]}\n    reply: '满 99 元\n", 5, "the file ends inside the quoted text that opens at line 4, column 12"),
        ]
        for c in cases {
            let d = try #require(diagnostics(c.text).first)
            #expect(d.code == "yaml-syntax")
            #expect(d.location.line == c.line, "\(d.render())")
            #expect(d.message.contains(c.says), "\(d.render())")
            #expect(d.message.contains("it may still be being written"), "\(d.render())")
        }
        // Without the final newline, the error stands at the end of the last line (not on a line after it).
        let cut = "rules:\n  - id: fee\n    when: {contains: [运费, 邮"
        let atEnd = try #require(diagnostics(cut).first)
        #expect(atEnd.location == SourceLocation(file: "rules.yaml", line: 3, column: 28) && atEnd.message.contains("the file ends inside the [ … ] list"),
                "\(atEnd.render())")
        // A flow collection left open in the middle of the file is an ordinary syntax error.
        let d = try #require(diagnostics("rules:\n  - id: a\n    when: {contains: [退货, 退款}\n    reply: x\n").first)
        #expect(d.code == "yaml-syntax" && !d.message.contains("file ends"), "\(d.render())")
    }

    // MARK: What a reload changes

    static func census(_ files: [(String, String)]) throws -> RuleSetCensus {
        RuleSetCensus(try RuleSetLoader.parse(files: files.map { (path: $0.0, text: $0.1) }))
    }

    static let shop = """
        rules:
          - {id: r1, when: {contains: [a]}, reply: x}
          - {id: r2, when: {contains: [b]}, reply: x}
          - {id: r3, when: {contains: [c]}, reply: x}
          - {id: r4, when: {contains: [d]}, reply: x}
        intents:
          refund: [我要退货]

        """
    static let other = "rules:\n  - {id: o1, when: {contains: [e]}, reply: x}\n  - {id: o2, when: {contains: [f]}, reply: x}\n"

    @Test("the log line: totals, each file whose counts change, removed and added names")
    func summary() throws {
        let before = try Self.census([("Rules/shop/faq.yaml", Self.shop), ("Rules/shop/other.yaml", Self.other)])
        #expect(before.ruleCount == 6 && before.intentCount == 1 && before.files["Rules/shop/faq.yaml"]?.rules == ["r1", "r2", "r3", "r4"])
        let after = try Self.census([("Rules/shop/faq.yaml", Self.shop.replacingOccurrences(of: "  - {id: r4, when: {contains: [d]}, reply: x}\n", with: "")),
                                     ("Rules/shop/other.yaml", Self.other + "  - {id: o3, when: {contains: [g]}, reply: x}\n")])
        let change = RuleSetChange(from: before, to: after)
        #expect(change.summary == "6 → 6 rules; Rules/shop/faq.yaml 4 → 3; Rules/shop/other.yaml 2 → 3; removed: r4; added: o3", "\(change.summary)")
        #expect(!change.isSuspicious)
        let same = RuleSetChange(from: before, to: before)
        #expect(same.summary == "6 → 6 rules; no rule, intent or flow added or removed")
        let gone = RuleSetChange(from: before, to: try Self.census([("Rules/shop/other.yaml", Self.other)]))
        #expect(gone.summary == "6 → 2 rules, 1 → 0 intents; Rules/shop/faq.yaml gone (was 4 rules, 1 intent); removed: r1, r2, r3, r4, intent refund",
                "\(gone.summary)")
    }

    @Test("suspicious: more than half of one file's rules (or intents) lost, a whole file included; moves and renames are not")
    func suspicious() throws {
        let before = try Self.census([("faq.yaml", Self.shop), ("other.yaml", Self.other)])
        func change(_ files: [(String, String)]) throws -> RuleSetChange { RuleSetChange(from: before, to: try Self.census(files)) }
        let firstRule = String(Self.shop.split(separator: "\n").prefix(2).joined(separator: "\n")) + "\n"
        // Cut after the first rule, newline and all: valid YAML, 3 of 4 rules and the intent gone.
        let cut = try change([("faq.yaml", firstRule), ("other.yaml", Self.other)])
        #expect(cut.suspicious == ["faq.yaml would lose 3 of its 4 rules", "faq.yaml would lose all its 1 intent"], "\(cut.suspicious)")
        // Exactly half is an edit.
        let half = try change([("faq.yaml", firstRule + "  - {id: r2, when: {contains: [b]}, reply: x}\nintents:\n  refund: [我要退货]\n"), ("other.yaml", Self.other)])
        #expect(!half.isSuspicious, "\(half.suspicious)")
        // Emptied (an editor that truncates first) and removed.
        let emptied = try change([("faq.yaml", Self.shop), ("other.yaml", "")])
        #expect(emptied.suspicious == ["other.yaml would lose all its 2 rules (the file is now empty)"])
        let removed = try change([("faq.yaml", Self.shop)])
        #expect(removed.suspicious == ["other.yaml would lose all its 2 rules (the file is gone)"])
        // Renamed, or its rules moved into another file: nothing is lost.
        #expect(!(try change([("faq.yaml", Self.shop), ("renamed.yaml", Self.other)])).isSuspicious)
        let merged = Self.shop.replacingOccurrences(of: "intents:", with: Self.other.replacingOccurrences(of: "rules:\n", with: "") + "intents:")
        #expect(!(try change([("faq.yaml", merged)])).isSuspicious)
    }
}
