import KefuDialogue
import Synchronization

/// WeChat's plaintext `signature` covers the token, the timestamp and the nonce, not the body. So a
/// signed query seen once (a proxy log, a shared curl) could carry any message until its timestamp
/// leaves the freshness window. This guard remembers, for that window, which message each accepted
/// query carried: the same query with the same message is a retry (answered from the store, the
/// rules do not run again); the same query with another message is a forgery and is refused.
///
/// Memory: one 64-bit digest of the query and one of the message's de-duplication key per accepted
/// push, in time buckets (``RecentIndex``), capped by the memory budget. After a restart the guard is
/// warmed from the queries the store saved with its answers.
public final class ReplayGuard: Sendable {
    public enum Verdict: Sendable, Equatable {
        /// A query not seen before: remembered now.
        case new
        /// The same query with the same message: a retry.
        case retry
        /// The same query with a different message.
        case forgery
    }

    private let index: Mutex<RecentIndex<UInt64, UInt64>>

    /// `window`: seconds a query stays remembered, at least the span in which its timestamp is fresh.
    public init(window: Int64, maxEntries: Int) {
        index = Mutex(RecentIndex(window: window, maxEntries: maxEntries))
    }

    /// The text that identifies a signed query (`signature`, `timestamp`, `nonce`; `msg_signature`
    /// is left out on purpose, so a secure query with its encryption stripped is the same query).
    public static func queryText(signature: String, timestamp: String, nonce: String) -> String {
        signature + "|" + timestamp + "|" + nonce
    }

    /// Checks a query against the message it carries and remembers it if new.
    public func check(query: String, messageKey: String, now: Int64) -> Verdict {
        let q = digest(query), m = digest(messageKey)
        return index.withLock { index in
            switch index.value(for: q, since: now - index.window) {
            case nil:
                index.insert(q, m, at: now)
                return .new
            case m?: return .retry
            case _?: return .forgery
            }
        }
    }

    /// Remembers queries saved before a restart.
    public func warmUp(_ queries: [(query: String, messageKey: String, time: Int64)]) {
        index.withLock { index in
            for q in queries { index.insert(digest(q.query), digest(q.messageKey), at: q.time) }
        }
    }

    /// Forgets queries older than the window; returns how many went.
    @discardableResult
    public func expire(now: Int64) -> Int { index.withLock { $0.expire(before: now - $0.window) } }

    public var count: Int { index.withLock { $0.count } }
    public var earlyDrops: Int { index.withLock { $0.earlyDrops } }
}
