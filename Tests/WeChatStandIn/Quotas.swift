/// Per-API call quotas on the stand-in's clock: per day (45009) and per minute (45011).
///
/// Days are counted from midnight Beijing time (UTC+8), when WeChat resets the counters.
struct Quotas: Sendable {
    /// Daily quotas from WeChat's published table (service accounts; the console shows the real values).
    static let defaultDaily: [String: Int] = [
        "/cgi-bin/token": 2000,
        "/cgi-bin/stable_token": 500_000,
        "/cgi-bin/message/custom/send": 500_000,
        "/cgi-bin/message/custom/typing": 500_000,
        "/cgi-bin/message/template/send": 100_000,
        "/cgi-bin/message/subscribe/bizsend": 100_000,
        "/cgi-bin/media/upload": 100_000,
        "/cgi-bin/menu/create": 1000,
        "/cgi-bin/menu/get": 10_000,
        "/cgi-bin/menu/delete": 1000,
        "/cgi-bin/qrcode/create": 100_000,
    ]
    /// Per-minute quotas WeChat documents (stable_token: 10 000 a minute).
    static let defaultMinute: [String: Int] = ["/cgi-bin/stable_token": 10_000]

    static func day(_ time: Int64) -> Int64 { (time + 8 * 3600).floorDivided(by: 86_400) }
    static func minute(_ time: Int64) -> Int64 { time.floorDivided(by: 60) }

    var daily: [String: Int]
    var minute: [String: Int]
    private var dayCounts: [String: (day: Int64, count: Int)] = [:]
    private var minuteCounts: [String: (minute: Int64, count: Int)] = [:]

    init(daily: [String: Int] = [:], minute: [String: Int] = [:]) {
        self.daily = Self.defaultDaily.merging(daily) { $1 }
        self.minute = Self.defaultMinute.merging(minute) { $1 }
    }

    /// Counts one call of `path`, or refuses it when a quota is spent (a refused call is not counted).
    mutating func take(_ path: String, now: Int64) -> APIError? {
        let today = Self.day(now), thisMinute = Self.minute(now)
        let dayCount = dayCounts[path].flatMap { $0.day == today ? $0.count : nil } ?? 0
        let minuteCount = minuteCounts[path].flatMap { $0.minute == thisMinute ? $0.count : nil } ?? 0
        if let limit = daily[path], dayCount >= limit { return APIError(45009) }
        if let limit = minute[path], minuteCount >= limit { return APIError(45011) }
        dayCounts[path] = (today, dayCount + 1)
        minuteCounts[path] = (thisMinute, minuteCount + 1)
        return nil
    }
}

extension Int64 {
    func floorDivided(by divisor: Int64) -> Int64 {
        let q = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? q - 1 : q
    }
}

enum Random {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

    static func alphanumeric(_ count: Int) -> String {
        String((0..<count).map { _ in alphabet.randomElement()! })
    }

    static func hex(_ count: Int) -> String {
        String((0..<count).map { _ in Array("0123456789abcdef").randomElement()! })
    }

    /// WeChat's request id: ` rid: 8hex-8hex-8hex`.
    static func rid() -> String { "\(hex(8))-\(hex(8))-\(hex(8))" }
}
