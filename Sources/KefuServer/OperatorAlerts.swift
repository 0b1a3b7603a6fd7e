import Foundation
import Synchronization

/// WeChat API errors that only the operator can fix (an IP to whitelist, a wrong AppSecret, a
/// spent daily quota …): the latest of each errcode, with what to do, for /status. Each also goes to
/// the log and to `kefu_wechat_api_alerts_total`.
public final class OperatorAlerts: Sendable {
    public struct Alert: Sendable, Equatable {
        public var code: Int
        public var message: String
        public var action: String
        public var count: Int
        public var lastAt: Int64
    }

    private let alerts = Mutex<[Int: Alert]>([:])
    private let configured = Mutex(false)

    public init() {}

    public func setConfigured(_ on: Bool) { configured.withLock { $0 = on } }

    /// Records one; true when it is the first of its code (worth a log line at a higher level).
    @discardableResult
    public func record(code: Int, message: String, action: String, at time: Int64) -> Bool {
        alerts.withLock { alerts in
            let first = alerts[code] == nil
            alerts[code] = Alert(code: code, message: message, action: action, count: (alerts[code]?.count ?? 0) + 1, lastAt: time)
            return first
        }
    }

    public var current: [Alert] { alerts.withLock { $0.values.sorted { $0.code < $1.code } } }

    /// The /status section.
    func status() -> [String: Any] {
        let list = current.map { alert -> [String: Any] in
            ["errcode": alert.code, "message": alert.message, "whatToDo": alert.action, "count": alert.count,
             "lastAt": ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(alert.lastAt)))]
        }
        return ["configured": configured.withLock { $0 }, "alerts": list]
    }
}
