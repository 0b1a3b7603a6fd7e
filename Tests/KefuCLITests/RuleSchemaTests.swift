import Foundation
import Testing

/// docs/kefu-rules.schema.json (what VS Code validates against) accepts every sample rule file and
/// rejects the wrong documents that `kefu lint` rejects too. Runs Tests/Interop/validate_rules_schema.py
/// with the `.venv` that `make test` creates (or KEFU_PYTHON).
@Suite("Rule file JSON Schema")
struct RuleSchemaTests {
    @Test("every Rules/ file validates; wrong documents are rejected by the schema and by kefu lint alike")
    func schema() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let python = ProcessInfo.processInfo.environment["KEFU_PYTHON"] ?? root.appendingPathComponent(".venv/bin/python").path
        try #require(FileManager.default.isExecutableFile(atPath: python), "no Python with jsonschema: run `make test` (it creates .venv) or set KEFU_PYTHON")
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("kefu")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [root.appendingPathComponent("Tests/Interop/validate_rules_schema.py").path]
        process.environment = ["KEFU": binary.path, "PATH": "/usr/bin:/bin"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(output)")
        #expect(output.contains("0 failed"), "\(output)")
        #expect(output.contains("linted with"), "the loader was not compared: \(output)")
    }
}
