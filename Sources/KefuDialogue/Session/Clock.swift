import Synchronization

/// Where the engine's "now" comes from: the system clock in `kefu serve`, a virtual clock that
/// tests and `kefu chat` move by hand (`wait 31m`), so expiry and pauses are tested without sleeping.
public protocol DialogueClock: Sendable {
    /// Unix seconds.
    func now() -> Int64
}

public struct SystemClock: DialogueClock {
    public init() {}
    public func now() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec)
    }
}

/// A clock that moves only when told to.
public final class VirtualClock: DialogueClock {
    private let seconds: Mutex<Int64>

    public init(_ start: Int64) { seconds = Mutex(start) }

    public func now() -> Int64 { seconds.withLock { $0 } }

    public func advance(by delta: Int64) { seconds.withLock { $0 += delta } }

    public func set(_ time: Int64) { seconds.withLock { $0 = time } }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
