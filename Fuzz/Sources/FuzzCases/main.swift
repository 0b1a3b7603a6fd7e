import FuzzSupport
import KefuCorpus
import KefuRules

/// A static, not a top-level `let`: libFuzzer supplies `main`, so main.swift's top-level code never runs.
enum Scratch { static let file = ScratchFile(target: "cases", name: "cases.yaml") }

/// (d) The case-file loader on the input as one case file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCases(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    Scratch.file.write(UnsafeBufferPointer(start: data, count: size))
    do {
        _ = try CorpusLoader.load(paths: [Scratch.file.path])
    } catch {
        // As `kefu lint` and `kefu test` print them: each with its source line and a caret.
        let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
        for diagnostic in error.diagnostics { _ = diagnostic.render(source: text) }
    }
    return 0
}
