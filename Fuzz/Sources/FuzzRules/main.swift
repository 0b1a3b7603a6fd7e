import FuzzSupport
import KefuRules

/// A static, not a top-level `let`: libFuzzer supplies `main`, so main.swift's top-level code never runs.
enum Scratch { static let file = ScratchFile(target: "rules", name: "rules.yaml") }

/// (c) The rule-file loader on a folder holding the input as its one rules file, then the compiler
/// on what loads (what `kefu serve` and `kefu lint` do with a rules folder).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRules(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    Scratch.file.write(UnsafeBufferPointer(start: data, count: size))
    do {
        let spec = try RuleSetLoader.load(directory: Scratch.file.folder)
        _ = try RuleSetCompiler.compile(spec)
    } catch {
        // As `kefu lint` and `kefu test` print them: each with its source line and a caret.
        let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
        for diagnostic in error.diagnostics { _ = diagnostic.render(source: text) }
    }
    return 0
}
