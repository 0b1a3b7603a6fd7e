import FuzzSupport
import KefuCorpus

/// (d) The case-file loader on the input as one case file.
/// A static, not a top-level `let`: libFuzzer supplies `main`, so main.swift's top-level code never runs.
enum Scratch { static let file = ScratchFile(target: "cases", name: "cases.yaml") }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCases(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    Scratch.file.write(UnsafeBufferPointer(start: data, count: size))
    do {
        _ = try CorpusLoader.load(paths: [Scratch.file.path])
    } catch {
        _ = error.description
    }
    return 0
}
