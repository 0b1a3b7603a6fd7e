import Foundation

/// A failed call to WeChat's API: WeChat's own answer (HTTP 200 with a non-zero `errcode`), a
/// transport failure, or a request this client refused to make. `disposition` says what the caller
/// (the outbox) does with it; `whatToDo` is one sentence for the operator.
///
/// It never holds the AppSecret: every text is scrubbed of it before the error is made.
public struct WeChatAPIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What the caller does with the failure.
    public enum Disposition: String, Sendable, Equatable {
        /// WeChat said `-1` (busy) on every attempt the retry policy allows. Nothing was delivered; try later.
        case busy
        /// The access token was refused (40001/40014/42001) again after the one refresh-and-retry.
        case token
        /// Final for this message or call: recorded, never retried as is (45015, 45047, 40003, 40007 …).
        case final
        /// The account or its setup needs the operator (IP whitelist, AppSecret, quota, permission);
        /// reported to the alert sink. Calls of this API will fail the same way until it is fixed.
        case operatorAction = "operator"
        /// The request never left this machine (connection refused, no connection in time): safe to repeat.
        case notSent = "not-sent"
        /// The request was written but no answer came (timeout, reset): WeChat may have acted on it.
        /// Never repeated blindly; the caller records the outcome as unknown.
        case outcomeUnknown = "outcome-unknown"
        /// A request WeChat (or this client) calls malformed: a bug in the caller or in this client.
        case bug
    }

    /// The API path, e.g. `/cgi-bin/message/custom/send`.
    public let api: String
    /// WeChat's errcode; nil when WeChat did not answer (transport) or the client refused the request.
    public let errcode: Int?
    /// WeChat's errmsg as received (with its `rid:` for WeChat support), or what failed locally.
    public let errmsg: String
    public let disposition: Disposition
    /// One sentence for the operator: what to do about it.
    public let whatToDo: String
    /// When calling this API makes sense again (Unix seconds): the next minute after 45011, the next
    /// day (00:00 Beijing time) after 45009.
    public let retryAt: Int64?
    /// 40164: the IP address WeChat saw, to add to the IP whitelist.
    public let whitelistIP: String?

    public init(api: String, errcode: Int?, errmsg: String, disposition: Disposition, whatToDo: String,
                retryAt: Int64? = nil, whitelistIP: String? = nil) {
        self.api = api
        self.errcode = errcode
        self.errmsg = errmsg
        self.disposition = disposition
        self.whatToDo = whatToDo
        self.retryAt = retryAt
        self.whitelistIP = whitelistIP
    }

    /// WeChat's request id (`rid: xxxxxxxx-xxxxxxxx-xxxxxxxx`, older `hint: [xxxx]`), to quote to WeChat support.
    public var rid: String? {
        if let range = errmsg.range(of: #"rid: ?[0-9A-Za-z-]+"#, options: .regularExpression) {
            return String(errmsg[range].dropFirst(4).trimmingCharacters(in: .whitespaces))
        }
        if let range = errmsg.range(of: #"hint: ?\[[^\]]+\]"#, options: .regularExpression) {
            return String(errmsg[range].drop { $0 != "[" }.dropFirst().dropLast())
        }
        return nil
    }

    /// True when the caller may simply make the same call again later (nothing reached WeChat, or WeChat was busy).
    public var isSafeToRepeat: Bool { disposition == .notSent || disposition == .busy }

    public var description: String {
        let code = errcode.map { "errcode \($0)" } ?? disposition.rawValue
        return "WeChat \(api): \(code): \(errmsg) — \(whatToDo)"
    }
}

extension WeChatAPIError {
    /// The error for WeChat's answer `errcode`/`errmsg` to a call of `api`. `tokenRequest`: the call
    /// was the token request itself (there 40001 means a wrong AppSecret, not a stale token).
    static func wechat(api: String, errcode: Int, errmsg: String, now: Int64, tokenRequest: Bool = false) -> WeChatAPIError {
        func make(_ disposition: Disposition, _ whatToDo: String, retryAt: Int64? = nil, ip: String? = nil) -> WeChatAPIError {
            WeChatAPIError(api: api, errcode: errcode, errmsg: errmsg, disposition: disposition, whatToDo: whatToDo, retryAt: retryAt, whitelistIP: ip)
        }
        switch errcode {
        case -1:
            return make(.busy, "WeChat was busy (system error) on every attempt; nothing was delivered, try again later.")
        case 40001 where tokenRequest, 40125:
            return make(.operatorAction, "The AppSecret is wrong: copy it again from the console (设置与开发 → 基本配置 → 开发者密码) into KEFU_APPSECRET or KEFU_APPSECRET_FILE.")
        case 40001, 40014, 42001:
            return make(.token, "WeChat refused a freshly fetched access token too; check that no other system force-refreshes this account's stable token, and that KEFU_APPID is this account's AppID.")
        case 40013:
            return make(.operatorAction, "The AppID is not valid: set KEFU_APPID to the AppID (wx…) shown under 设置与开发 → 基本配置.")
        case 40002, 41002, 41004:
            return make(.bug, "The token request lacked a field WeChat needs (grant_type, appid or secret); report this as a bug.")
        case 40164:
            let ip = whitelistAddress(in: errmsg)
            let subject = ip.map { "Add \($0) to the IP whitelist" } ?? "Add this server's public IP address to the IP whitelist"
            return make(.operatorAction, "\(subject) (设置与开发 → 基本配置 → IP白名单) and wait a few minutes.", ip: ip)
        case 40243:
            return make(.operatorAction, "The AppSecret is frozen: unfreeze or reset it in the console (设置与开发 → 基本配置 → 开发者密码).")
        case 89503:
            return make(.operatorAction, "WeChat asks the account's administrator to confirm calls from this IP: confirm in the WeChat message the administrator received, then calls resume.")
        case 89501:
            return make(.operatorAction, "The administrator has not yet confirmed calls from this IP: confirm it in WeChat (retry after the confirmation).")
        case 89506, 89507:
            return make(.operatorAction, "The administrator refused calls from this IP: calls are blocked for a while (1 h, 24 h after repeated refusals); confirm the IP or call from a whitelisted one.")
        case 45009:
            return make(.operatorAction, "This API's daily quota is used up until tomorrow: wait, or reset it once in the console (接口权限 → 调用次数清零, 10 times a month) — Kefu never resets it itself.",
                        retryAt: nextBeijingMidnight(after: now))
        case 45011:
            return make(.operatorAction, "This API's per-minute quota is used up: calls pause until the next minute; if it recurs, send less often.",
                        retryAt: (now / 60 + 1) * 60)
        case 48001:
            return make(.operatorAction, "The account is not authorised for this API (an unverified or personal account, or the interface is not enabled): verify the account or enable the interface under 接口权限.")
        case 48006:
            return make(.operatorAction, "The monthly quota resets (clear_quota) are used up: wait for the daily quota to reset.")
        case 45015:
            return make(.final, "The user's customer-service window is closed (no message from them in 48 h, or they unfollowed): wait for their next message or use a template/subscribe message.")
        case 45047:
            return make(.final, "The sends allowed for the user's last interaction are used up: wait for their next message.")
        case 40003:
            return make(.final, "The OpenID is not a follower of this account (or belongs to another account).")
        case 40007:
            return make(.final, "The media_id expired (3 days) or is of the wrong kind: upload the file again and send with the new id.")
        case 43004:
            return make(.final, "The user does not follow the account (template messages need a follower).")
        case 43101:
            return make(.final, "The user has not accepted (or no longer accepts) this subscribe message.")
        case 43019:
            return make(.final, "The user has blocked the account.")
        case 50002:
            return make(.final, "The user's WeChat account is restricted; nothing can be sent to them.")
        case 47003:
            return make(.final, "A field of the message is missing or invalid (errmsg names it): fix the template data.")
        case 40037:
            return make(.final, "The template_id is wrong or belongs to another account: copy it from 广告与服务 → 模板消息.")
        case 45008:
            return make(.final, "A news message may have one article only.")
        case 40200:
            return make(.final, "This account type cannot use this message kind (menu messages and typing need a verified service account).")
        case 45080, 45081, 45072:
            return make(.final, "Typing can be shown only within 30 s of the user's last action and not while it is already shown.")
        case 46003:
            return make(.final, "The account has no menu.")
        case 41001, 43001, 43002, 43003, 44002, 47001, 40033:
            return make(.bug, "WeChat calls the request malformed (missing token, wrong method, empty or escaped JSON); report this as a bug with the errmsg.")
        default:
            return make(.final, "WeChat refused the request (errcode \(errcode)); look the code up in WeChat's global return codes and fix the request or the account.")
        }
    }

    /// The IPv4 (or IPv6) address in a 40164 errmsg: "invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in whitelist rid: …".
    static func whitelistAddress(in errmsg: String) -> String? {
        guard let range = errmsg.range(of: #"invalid ip\s+[0-9A-Fa-f:.]+"#, options: .regularExpression) else { return nil }
        let address = errmsg[range].split(separator: " ", omittingEmptySubsequences: true).last.map(String.init)
        guard let address, address.contains(".") || address.contains(":") else { return nil }
        return address.hasSuffix(",") ? String(address.dropLast()) : address
    }

    /// The next 00:00 in Beijing (UTC+8) after `now`, when WeChat's daily quotas are counted anew.
    static func nextBeijingMidnight(after now: Int64) -> Int64 {
        let offset: Int64 = 8 * 3600
        return ((now + offset) / 86_400 + 1) * 86_400 - offset
    }

    static func notSent(api: String, _ what: String) -> WeChatAPIError {
        WeChatAPIError(api: api, errcode: nil, errmsg: what, disposition: .notSent,
                       whatToDo: "The request did not reach WeChat (\(what)); check the network and the API address — it is safe to try again.")
    }

    static func outcomeUnknown(api: String, _ what: String) -> WeChatAPIError {
        WeChatAPIError(api: api, errcode: nil, errmsg: what, disposition: .outcomeUnknown,
                       whatToDo: "The request reached WeChat but no answer came (\(what)); it may have been delivered — it is not repeated, check before sending again.")
    }

    static func invalid(api: String, _ what: String) -> WeChatAPIError {
        WeChatAPIError(api: api, errcode: nil, errmsg: what, disposition: .bug, whatToDo: what)
    }

    /// The same error with every occurrence of `secret` removed (defence in depth: WeChat never echoes it).
    func scrubbing(_ secret: AppSecret) -> WeChatAPIError {
        guard !secret.isEmpty, errmsg.contains(secret.value) || whatToDo.contains(secret.value) else { return self }
        return WeChatAPIError(api: api, errcode: errcode, errmsg: errmsg.replacingOccurrences(of: secret.value, with: "[redacted]"),
                              disposition: disposition, whatToDo: whatToDo.replacingOccurrences(of: secret.value, with: "[redacted]"),
                              retryAt: retryAt, whitelistIP: whitelistIP)
    }
}
