#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The open-file limit (RLIMIT_NOFILE) that every connection counts against.
public enum DescriptorLimit {
    /// Descriptors kept for everything but connections: the listening socket, SQLite's database, -wal and -shm
    /// files, the rule files read on reload, standard streams, the event loops' own.
    public static let margin = 64

    public struct Reading: Sendable, Equatable {
        public var soft: Int
        public var hard: Int
        /// The soft limit before ``raise()`` raised it, if it did.
        public var raisedFrom: Int?
    }

    /// Raises the soft limit to the hard limit where the system allows it.
    public static func raise() -> Reading? {
        var limit = rlimit()
        guard getrlimit(resourceNOFILE, &limit) == 0 else { return nil }
        // An unlimited hard limit is not a value the kernel takes for the soft one (nr_open caps it).
        let target = limit.rlim_max == unlimited ? rlim_t(1 << 20) : limit.rlim_max
        var raisedFrom: Int?
        if limit.rlim_cur != unlimited, limit.rlim_cur < target {
            var raised = limit
            raised.rlim_cur = target
            if setrlimit(resourceNOFILE, &raised) == 0 {
                raisedFrom = Int(limit.rlim_cur)
                limit = raised
            }
        }
        return Reading(soft: count(limit.rlim_cur), hard: count(limit.rlim_max), raisedFrom: raisedFrom)
    }

    /// RLIM_INFINITY, a cast macro Swift does not import.
    private static let unlimited = rlim_t.max

    private static func count(_ value: rlim_t) -> Int { value == unlimited ? Int.max : Int(clamping: value) }

    #if canImport(Glibc)
    private static let resourceNOFILE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resourceNOFILE = RLIMIT_NOFILE
    #endif
}
