import KefuRules
import Synchronization

/// Makes one try of a call and waits for it at most `wait`: the server on the network
/// (``LiveCallRunner``), `kefu test` and `kefu chat` on mocks and the virtual clock.
public protocol CallRunner: Sendable {
    /// The result if it comes within `wait`; otherwise nil, and `late` gets the result when it
    /// comes (the service's timeout at the latest). `late` is called at most once, never when a result is returned.
    func attempt(_ request: ServiceRequest, attempt: Int, wait: Duration, at now: Int64,
                 late: @escaping @Sendable (CallResult) async -> Void) async -> CallResult?
}

/// The server's runner: the try runs in a task of its own; the turn waits for it until `wait`.
public struct LiveCallRunner: CallRunner {
    public let transport: any ServiceTransport

    public init(transport: any ServiceTransport) { self.transport = transport }

    public func attempt(_ request: ServiceRequest, attempt: Int, wait: Duration, at now: Int64,
                        late: @escaping @Sendable (CallResult) async -> Void) async -> CallResult? {
        let race = Race()
        let transport = self.transport
        Task {
            let result = await transport.send(request, attempt: attempt)
            if race.finish(result) { await late(result) }
        }
        return await race.wait(wait)
    }

    /// One result and one waiter: whoever comes second sees what the first did. The waiter's timer
    /// is cancelled when the result comes first (a call answered in 1 ms leaves no 3-second sleeper behind).
    final class Race: Sendable {
        enum State { case open, waiting(CheckedContinuation<CallResult?, Never>), done(CallResult), gaveUp }
        let state = Mutex(State.open)
        let timer = Mutex<Task<Void, Never>?>(nil)

        /// The try finished: true when nobody waits for it any more (the result is late).
        func finish(_ result: CallResult) -> Bool {
            let (waiter, late): (CheckedContinuation<CallResult?, Never>?, Bool) = state.withLock { state in
                switch state {
                case .open: state = .done(result); return (nil, false)
                case .waiting(let c): state = .done(result); return (c, false)
                case .done: return (nil, false)
                case .gaveUp: return (nil, true)
                }
            }
            if let waiter {
                timer.withLock { $0?.cancel(); $0 = nil }
                waiter.resume(returning: result)
            }
            return late
        }

        func wait(_ limit: Duration) async -> CallResult? {
            await withCheckedContinuation { (c: CheckedContinuation<CallResult?, Never>) in
                let ready: CallResult? = state.withLock { state in
                    if case .done(let r) = state { return r }
                    state = .waiting(c)
                    return nil
                }
                if let ready { return c.resume(returning: ready) }
                let sleeper = Task { [self] in
                    try? await Task.sleep(for: limit)
                    let waiter: CheckedContinuation<CallResult?, Never>? = state.withLock { state in
                        if case .waiting(let c) = state { state = .gaveUp; return c }
                        return nil
                    }
                    waiter?.resume(returning: nil)
                }
                timer.withLock { $0 = sleeper }
                // The result may have come between the state change and storing the timer.
                if case .done = state.withLock({ $0 }) { timer.withLock { $0?.cancel(); $0 = nil } }
            }
        }
    }
}

/// A runner around another one (recording, …): the simulator finds the mocks inside it.
public protocol WrapsCallRunner: CallRunner {
    var inner: any CallRunner { get }
}
