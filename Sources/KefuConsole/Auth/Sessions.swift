import Foundation
import Synchronization

/// A random 256-bit value, base64url without padding (43 characters): session ids and CSRF tokens.
public enum RandomToken {
    public static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

/// The console's sessions, in this process's memory: an id (the cookie), who, its CSRF token, when it
/// began and was last used. A session ends after ``idleTimeout`` without a request, ``absoluteTimeout``
/// after sign-in, or at sign-out. With several `kefu serve` instances each keeps its own: sign in on the
/// instance you use (or pin the admin port to one instance). A restart signs everyone out.
public final class SessionStore: Sendable {
    public struct Session: Sendable, Equatable {
        public let id: String
        public let user: ConsoleUser
        public let csrfToken: String
        public let started: Double
        public var lastSeen: Double
    }

    public let idleTimeout: Double
    public let absoluteTimeout: Double
    /// Past this many sessions the one used least recently goes.
    public let capacity: Int
    private let sessions = Mutex<[String: Session]>([:])

    public init(idleTimeout: Double = 2 * 3600, absoluteTimeout: Double = 12 * 3600, capacity: Int = 10_000) {
        self.idleTimeout = idleTimeout; self.absoluteTimeout = absoluteTimeout; self.capacity = capacity
    }

    public static func now() -> Double { Date().timeIntervalSince1970 }

    public func create(for user: ConsoleUser, now: Double = SessionStore.now()) -> Session {
        let session = Session(id: RandomToken.make(), user: user, csrfToken: RandomToken.make(), started: now, lastSeen: now)
        sessions.withLock { all in
            all = all.filter { !expired($0.value, now: now) }
            if all.count >= capacity, let oldest = all.min(by: { $0.value.lastSeen < $1.value.lastSeen }) { all[oldest.key] = nil }
            all[session.id] = session
        }
        return session
    }

    /// The live session with this id (its idle clock restarted), or nil.
    public func session(_ id: String, now: Double = SessionStore.now()) -> Session? {
        sessions.withLock { all in
            guard var session = all[id] else { return nil }
            if expired(session, now: now) { all[id] = nil; return nil }
            session.lastSeen = now
            all[id] = session
            return session
        }
    }

    public func end(_ id: String) { sessions.withLock { _ = $0.removeValue(forKey: id) } }

    public var count: Int { sessions.withLock { $0.count } }

    func expired(_ s: Session, now: Double) -> Bool { now - s.lastSeen > idleTimeout || now - s.started > absoluteTimeout }
}

/// Failed sign-ins counted per key (a client address, a user name) over a sliding window: at `limit`
/// failures within `window` seconds the key waits until the oldest of them leaves the window.
public final class SignInLimiter: Sendable {
    public let limit: Int
    public let window: Double
    public let capacity: Int
    private let failures = Mutex<[String: [Double]]>([:])

    public init(limit: Int = 5, window: Double = 300, capacity: Int = 50_000) {
        self.limit = limit; self.window = window; self.capacity = capacity
    }

    /// Seconds to wait before this key may try again (nil: it may try now).
    public func retryAfter(_ key: String, now: Double = SessionStore.now()) -> Int? {
        failures.withLock { all in
            let recent = (all[key] ?? []).filter { now - $0 < window }
            all[key] = recent.isEmpty ? nil : recent
            guard recent.count >= limit, let oldest = recent.first else { return nil }
            return max(1, Int((oldest + window - now).rounded(.up)))
        }
    }

    public func fail(_ key: String, now: Double = SessionStore.now()) {
        failures.withLock { all in
            if all.count >= capacity { all = all.filter { $0.value.contains { now - $0 < window } } }
            if all.count >= capacity { all.removeAll() }  // a flood of fresh keys: forget rather than grow
            all[key, default: []].append(now)
            if all[key]!.count > limit { all[key]!.removeFirst(all[key]!.count - limit) }
        }
    }

    public func clear(_ key: String) { failures.withLock { _ = $0.removeValue(forKey: key) } }
}
