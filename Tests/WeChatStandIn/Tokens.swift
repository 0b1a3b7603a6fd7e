/// The token authority: two independent families of access tokens on the stand-in's clock.
///
/// - `/cgi-bin/token` (``Family/basic``): every call mints a new token; the previous one stays valid
///   for at most 300 s more.
/// - `/cgi-bin/stable_token` (``Family/stable``): normal mode hands out the current token with its
///   remaining life and rolls it in its last 300 s (the old one lives out its natural end, so the two
///   overlap); force mode rotates at most 20 times a day and 30 s apart, invalidating the previous token
///   at once, and otherwise returns the current one unchanged.
///
/// A token past its end answers 42001 when it simply expired, 40001 "not latest" when its life was cut
/// short (superseded, force-refreshed or rotated); a token never issued answers 40014.
struct TokenAuthority: Sendable {
    enum Family: String, Sendable { case basic, stable }

    static let life: Int64 = 7200
    static let overlap: Int64 = 300
    static let forceLimitPerDay = 20
    static let forceSpacing: Int64 = 30

    struct Token: Sendable {
        var value: String
        var family: Family
        var issuedAt: Int64
        /// `issuedAt + life`.
        var naturalEnd: Int64
        /// When it stops working: the natural end, or earlier when it was superseded.
        var end: Int64
    }

    private(set) var tokens: [String: Token] = [:]
    private var current: [Family: String] = [:]
    private(set) var minted = 0
    private(set) var forceRefreshes = 0
    private var forceTimes: [Int64] = []

    /// `GET /cgi-bin/token`: a new token; the previous one is capped at now + 300 s.
    mutating func mintBasic(now: Int64) -> (token: String, expiresIn: Int64) {
        if let previous = current[.basic] { cap(previous, at: now + Self.overlap) }
        let token = mint(.basic, now: now)
        return (token.value, token.end - now)
    }

    /// `POST /cgi-bin/stable_token`.
    mutating func stable(now: Int64, force: Bool) -> (token: String, expiresIn: Int64) {
        let live = current[.stable].flatMap { tokens[$0] }.flatMap { now < $0.end ? $0 : nil }
        if force, allowsForce(now: now) {
            forceTimes.append(now)
            forceRefreshes += 1
            if let live { cap(live.value, at: now) }
            let token = mint(.stable, now: now)
            return (token.value, token.end - now)
        }
        if let live, live.end - now > Self.overlap {
            return (live.value, live.end - now)
        }
        // None yet, gone, or in its last 300 s: a new one (an old one lives out its natural end).
        let token = mint(.stable, now: now)
        return (token.value, token.end - now)
    }

    /// Force mode's limits: 20 per day (the quota day), 30 s apart.
    private func allowsForce(now: Int64) -> Bool {
        if let last = forceTimes.last, now - last < Self.forceSpacing { return false }
        let today = Quotas.day(now)
        return forceTimes.filter { Quotas.day($0) == today }.count < Self.forceLimitPerDay
    }

    /// `/standin/rotate`: the current token of each family stops working now (40001).
    mutating func rotate(now: Int64) {
        for family in [Family.basic, .stable] {
            if let value = current[family] { cap(value, at: now) }
        }
    }

    /// Checks an `access_token` query parameter.
    func check(_ value: String?, now: Int64) -> APIError? {
        guard let value, !value.isEmpty else { return APIError(41001) }
        guard let token = tokens[value] else { return APIError(40014, "invalid access_token") }
        guard now >= token.end else { return nil }
        return token.end < token.naturalEnd ? APIError(40001) : APIError(42001)
    }

    private mutating func cap(_ value: String, at time: Int64) {
        guard var token = tokens[value] else { return }
        token.end = min(token.end, time)
        tokens[value] = token
    }

    private mutating func mint(_ family: Family, now: Int64) -> Token {
        minted += 1
        // WeChat's tokens are long opaque strings (clients must store ≥ 512 characters); these are 136.
        let value = "\(family == .stable ? "S" : "B")\(minted)_" + Random.alphanumeric(133)
        let token = Token(value: value, family: family, issuedAt: now, naturalEnd: now + Self.life, end: now + Self.life)
        tokens[value] = token
        current[family] = value
        return token
    }
}
