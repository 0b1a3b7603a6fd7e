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
///
/// Three guards against a file caught while it is still being written (an editor saving in place,
/// `cp` half done): a changed file whose last line has no newline is refused (`unfinished-file`);
/// a reload that removes anything reads the files again after `settle` (until they stop changing,
/// at most three times) and is judged on that; and one that would then remove more than half of
/// one file's rules, intents or flows (a whole file included) is refused and kept as the pending
/// shrink. The next reload that reads exactly the same files confirms it: that is how a
/// deliberate removal goes live (reload once more, or with `--watch` save a rule file again).
/// Reloads run one at a time.
public final class LiveRules: Sendable {
    public struct Status: Sendable {
        public var loadedAt: Date
        public var ruleCount: Int
        public var reloads: Int
        public var lastReloadError: String?
        public var lastReloadAt: Date?
        /// `ok`, `failed` (does not compile, or a file is unfinished), `refused-gate`, `refused-shrink`.
        public var lastReloadResult: String?
        /// What the last reload that went live changed (``RuleSetChange/summary``).
        public var lastChange: String?
        /// A refused shrink that the next reload of the same files confirms.
        public var pendingShrink: PendingShrink?
        /// The live rule set, file by file.
        public var census: RuleSetCensus
    }

    public struct PendingShrink: Sendable {
        /// Why it was refused: one sentence per file.
        public var reasons: [String]
        /// The change it would make.
        public var change: String
        public var since: Date
    }

    private struct State {
        var engine: Engine
        var status: Status
        /// The files of the pending shrink, exactly as read.
        var pendingSources: [String: String]?
    }

    public let directory: String
    let media: any MediaResolver
    /// How long a suspicious reload waits before reading the files again.
    public let settle: Duration
    private let state: Mutex<State>
    private let oneAtATime = OneAtATime()

    /// Compiles the rule set; throws its diagnostics if it does not compile (the server does not start).
    /// `media`: where the engines find the media_ids of the rule set's files.
    public init(directory: String, settle: Duration = .milliseconds(500), media: any MediaResolver = PathAsMediaID()) throws(RuleSetError) {
        self.directory = directory
        self.settle = settle
        self.media = media
        let rules = try RuleSetCompiler.compile(directory: directory)
        state = Mutex(State(engine: Engine(rules: rules, media: media),
                            status: Status(loadedAt: Date(), ruleCount: rules.rules.count, reloads: 0, census: RuleSetCensus(rules.spec))))
    }

    public var engine: Engine { state.withLock { $0.engine } }
    public var status: Status { state.withLock { $0.status } }

    /// Why a reload was refused.
    public enum ReloadFailure: Error, Sendable, CustomStringConvertible {
        case compile(RuleSetError)
        /// `--gate`: the new rule set fails its corpus.
        case gate(String)
        /// The new rule set would remove more than half of a file's rules (or intents, or flows), still after the settle delay.
        case shrink(RuleSetChange)
        /// Its services cannot be called (a secret is missing): ``ServiceCalls/accept(_:)``.
        case services(String)

        public var description: String {
            switch self {
            case .compile(let error): error.description
            case .services(let why): "its services cannot be called: \(why)"
            case .gate(let reason): "refused by the corpus gate: \(reason)"
            case .shrink(let change):
                "refused: \(change.suspicious.joined(separator: "; ")). If a file was still being written, publish it again "
                    + "(write a temp file in the same folder, then rename it). If you removed them on purpose, reload once more "
                    + "(kill -HUP, or with --watch save any rule file again) and the same rule set is accepted. Would change: \(change.summary)"
            }
        }

        /// The `result` label of `kefu_reloads_total` and `/status`'s `lastReloadResult`.
        public var result: String {
            switch self {
            case .compile: "failed"
            case .gate: "refused-gate"
            case .shrink: "refused-shrink"
            case .services: "refused-services"
            }
        }
    }

    /// A rule set read and compiled, and what it would change.
    private struct Candidate {
        let compiled: CompiledRules
        let census: RuleSetCensus
        let change: RuleSetChange
    }

    /// Compiles the rule set again and swaps it in if it compiles, has no unfinished file, does not
    /// shrink suspiciously (or is the pending shrink, confirmed) and, with a gate, passes its corpus.
    /// Returns what changed, or why not; on failure the live rule set keeps serving.
    @discardableResult
    public func reload(gate: CorpusGate? = nil, services: ServiceCalls? = nil) async -> Result<RuleSetChange, ReloadFailure> {
        await oneAtATime.run { await self.reloadNow(gate: gate, services: services) }
    }

    private func reloadNow(gate: CorpusGate?, services: ServiceCalls?) async -> Result<RuleSetChange, ReloadFailure> {
        var candidate: Candidate
        switch read() {
        case .failure(let failure): return refuse(failure)
        case .success(let read): candidate = read
        }
        // A reload that removes anything waits and reads again, until the files stop changing (a copy
        // in progress changes meanwhile; an edit does not), at most three times.
        var rounds = 0
        while candidate.change.removesAnything, !isPending(candidate), rounds < 3 {
            rounds += 1
            try? await Task.sleep(for: settle)
            let previous = candidate.compiled.spec.sources
            switch read() {
            case .failure(let failure): return refuse(failure)
            case .success(let again): candidate = again
            }
            if candidate.compiled.spec.sources == previous { break }
        }
        if candidate.change.isSuspicious, !isPending(candidate) {
            let change = candidate.change
            state.withLock {
                $0.pendingSources = candidate.compiled.spec.sources
                $0.status.pendingShrink = PendingShrink(reasons: change.suspicious, change: change.summary, since: Date())
            }
            return refuse(.shrink(change))
        }
        if let gate, let reason = await gate.check(candidate.compiled) { return refuse(.gate(reason)) }
        if let services, let why = services.accept(candidate.compiled) { return refuse(.services(why)) }
        let now = Date()
        state.withLock {
            $0.engine = Engine(rules: candidate.compiled, media: media)
            $0.pendingSources = nil
            $0.status = Status(loadedAt: now, ruleCount: candidate.compiled.rules.count, reloads: $0.status.reloads + 1,
                               lastReloadError: nil, lastReloadAt: now, lastReloadResult: "ok", lastChange: candidate.change.summary,
                               pendingShrink: nil, census: candidate.census)
        }
        return .success(candidate.change)
    }

    /// Reads and compiles the files; a changed file that looks unfinished is an error.
    private func read() -> Result<Candidate, ReloadFailure> {
        let live = state.withLock { (sources: $0.engine.rules.spec.sources, census: $0.status.census) }
        do {
            let spec = try RuleSetLoader.load(directory: directory, unfinished: .refuse(unlessUnchangedFrom: live.sources)).spec
            let compiled = try RuleSetCompiler.compile(spec)
            let census = RuleSetCensus(compiled.spec)
            return .success(Candidate(compiled: compiled, census: census, change: RuleSetChange(from: live.census, to: census)))
        } catch {
            return .failure(.compile(error))
        }
    }

    private func isPending(_ candidate: Candidate) -> Bool {
        state.withLock { $0.pendingSources == candidate.compiled.spec.sources }
    }

    private func refuse(_ failure: ReloadFailure) -> Result<RuleSetChange, ReloadFailure> {
        state.withLock {
            $0.status.lastReloadError = failure.description
            $0.status.lastReloadAt = Date()
            $0.status.lastReloadResult = failure.result
        }
        return .failure(failure)
    }

    /// A fingerprint of the rule files (paths, sizes, modification times), for the file watcher.
    public func fingerprint() -> String { Self.fingerprint(directory: directory) }

    /// The fingerprint of the rule files in `directory` (also for an account whose rule set is not live).
    public static func fingerprint(directory: String) -> String {
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

/// Runs async work one piece at a time, in arrival order (SIGHUP and the watcher may both ask for a
/// reload, and a reload can wait out its settle delay).
final class OneAtATime: Sendable {
    private let state = Mutex<(busy: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    func run<T: Sendable>(_ work: @Sendable () async -> T) async -> T {
        await withCheckedContinuation { (turn: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.busy { s.waiting.append(turn); return false }
                s.busy = true
                return true
            }
            if now { turn.resume() }
        }
        let result = await work()
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiting.isEmpty { s.busy = false; return nil }
            return s.waiting.removeFirst()
        }
        next?.resume()
        return result
    }
}
