import Foundation
import KefuTestSupport
import Testing

/// docs/kefu-rules.schema.json (what VS Code validates against) accepts every sample rule file and
/// rejects the wrong documents that `kefu lint` rejects too. Runs Tests/Interop/validate_rules_schema.py
/// with the `.venv` that `make test` creates (or KEFU_PYTHON).
@Suite("Rule file JSON Schema")
struct RuleSchemaTests {
    @Test("every Rules/ file validates; wrong documents are rejected by the schema and by kefu lint alike")
    func schema() throws {
        let result = try TestSupport.run(try TestSupport.python(),
                                         [TestSupport.root.appendingPathComponent("Tests/Interop/validate_rules_schema.py").path],
                                         environment: ["KEFU": TestSupport.kefu.path], mergeErrors: true)
        let output = result.out
        #expect(result.status == 0, "\(output)")
        #expect(output.contains("0 failed"), "\(output)")
        #expect(output.contains("linted with"), "the loader was not compared: \(output)")
    }
}
