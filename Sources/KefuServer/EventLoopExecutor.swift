import NIOCore
import NIOPosix
import Synchronization

/// A connection's event loop as a task executor: a request's tasks that prefer it run on the thread
/// that read the request and writes the answer, so a turn that needs no I/O crosses no thread (by
/// default Hummingbird's handlers run on the concurrency pool: a wake-up and a hop there and back per
/// request). Work that blocks (SQLite's writer, an HTTP call) already runs elsewhere and resumes here.
final class EventLoopExecutor: TaskExecutor, @unchecked Sendable {  // immutable
    let loop: any EventLoop

    init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }

    /// One executor per event loop of the group, made once (executors are compared by identity).
    static let all: [ObjectIdentifier: EventLoopExecutor] = {
        var all: [ObjectIdentifier: EventLoopExecutor] = [:]
        for loop in MultiThreadedEventLoopGroup.singleton.makeIterator() { all[ObjectIdentifier(loop)] = EventLoopExecutor(loop) }
        return all
    }()

    static func of(_ loop: any EventLoop) -> EventLoopExecutor {
        all[ObjectIdentifier(loop)] ?? EventLoopExecutor(loop)
    }
}

/// The answer of a turn that may outlast the webhook's budget: the turn delivers its value; the request waits
/// for it up to a deadline, kept by a callback scheduled on the event loop (no timer task, no waiting task).
final class PendingAnswer<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiter: CheckedContinuation<Value?, Never>?
        var timer: Scheduled<Void>?
    }
    private let state = Mutex(State())

    init() {}

    /// From the turn: its value, handed to the request if it still waits.
    func deliver(_ value: Value) {
        let (waiter, timer) = state.withLock { state -> (CheckedContinuation<Value?, Never>?, Scheduled<Void>?) in
            state.value = value
            defer { state.waiter = nil; state.timer = nil }
            return (state.waiter, state.timer)
        }
        timer?.cancel()
        waiter?.resume(returning: value)
    }

    /// The value, or nil if it does not come within `budget`. Can be called again after a nil (a grace period).
    func value(within budget: Duration, on loop: any EventLoop) async -> Value? {
        if let value = state.withLock({ $0.value }) { return value }
        return await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
            let ready = state.withLock { state -> Value?? in
                if let value = state.value { return .some(value) }
                state.waiter = continuation
                return .none
            }
            if let ready { continuation.resume(returning: ready); return }
            let timer = loop.scheduleTask(in: budget.timeAmount) { [self] in
                let waiter = state.withLock { state -> CheckedContinuation<Value?, Never>? in
                    defer { state.waiter = nil; state.timer = nil }
                    return state.waiter
                }
                waiter?.resume(returning: nil)
            }
            // The value may have come while the timer was being scheduled: then the timer is not needed.
            let keep = state.withLock { state -> Bool in
                guard state.waiter != nil else { return false }
                state.timer = timer
                return true
            }
            if !keep { timer.cancel() }
        }
    }
}
