import Foundation
import KefuCorpus
import KefuDialogue
import KefuRules
import Synchronization

/// The engine that answers requests, and the one that replaces it on reload.
///
/// A reload compiles the rule set beside the live one; only a rule set that compiles is swapped
/// in, in one step under a lock, so every request is answered by a whole rule set, the old or the
/// new. A failed reload leaves the live one serving and records the errors for `/status`.
public final class LiveRules: Sendable {
    public struct Status: Sendable {
        public var loadedAt: Date
        public var ruleCount: Int
        public var reloads: Int
        public var lastReloadError: String?
        public var lastReloadAt: Date?
    }

    private struct State {
        var engine: Engine
        var status: Status
    }

    public let directory: String
    private let state: Mutex<State>

    /// Compiles the rule set; throws its diagnostics if it does not compile (the server does not start).
    public init(directory: String) throws(RuleSetError) {
        self.directory = directory
        let rules = try RuleSetCompiler.compile(directory: directory)
        state = Mutex(State(engine: Engine(rules: rules),
                            status: Status(loadedAt: Date(), ruleCount: rules.rules.count, reloads: 0)))
    }

    public var engine: Engine { state.withLock { $0.engine } }
    public var status: Status { state.withLock { $0.status } }

    /// Why a reload was refused.
    public enum ReloadFailure: Error, Sendable, CustomStringConvertible {
        case compile(RuleSetError)
        /// `--gate`: the new rule set fails its corpus.
        case gate(String)

        public var description: String {
            switch self {
            case .compile(let error): error.description
            case .gate(let reason): "refused by the corpus gate: \(reason)"
            }
        }
    }

    /// Compiles the rule set again and swaps it in if it compiles (and, with a gate, passes its
    /// corpus). Returns why not otherwise; the live rule set keeps serving.
    @discardableResult
    public func reload(gate: CorpusGate? = nil) async -> ReloadFailure? {
        let compiled: CompiledRules
        do {
            compiled = try RuleSetCompiler.compile(directory: directory)
            if let gate, let reason = await gate.check(compiled) { throw ReloadFailure.gate(reason) }
        } catch {
            let failure = (error as? ReloadFailure) ?? .compile(error as! RuleSetError)
            state.withLock {
                $0.status.lastReloadError = failure.description
                $0.status.lastReloadAt = Date()
            }
            return failure
        }
        state.withLock {
            $0.engine = Engine(rules: compiled)
            $0.status = Status(loadedAt: Date(), ruleCount: compiled.rules.count, reloads: $0.status.reloads + 1,
                               lastReloadError: nil, lastReloadAt: Date())
        }
        return nil
    }

    /// A fingerprint of the rule files (paths, sizes, modification times), for the file watcher.
    public func fingerprint() -> String {
        let root = URL(fileURLWithPath: directory)
        var parts: [String] = []
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.contentModificationDateKey, .fileSizeKey])
        while let url = enumerator?.nextObject() as? URL {
            guard ["yaml", "yml"].contains(url.pathExtension) else { continue }
            let values = try? url.resourceValues(forKeys: [.contentModificationDateKey, .fileSizeKey])
            parts.append("\(url.path)|\(values?.fileSize ?? -1)|\(values?.contentModificationDate?.timeIntervalSince1970 ?? 0)")
        }
        return parts.sorted().joined(separator: "\n")
    }
}
