import KefuDialogue
import KefuRules
import KefuWeChatAPI

/// The outbox's messages through the API client: customer-service messages for replies, template
/// messages for `template:` reminders. What WeChat answers decides what the outbox does next:
///
/// | WeChat / the client says | the outbox |
/// |---|---|
/// | ok | `sent` (with the template's msgid) |
/// | -1 on every try (`busy`), not sent at all (connection refused) | pending again in 30 s (at most 8 tries) |
/// | 45011 minute quota, 45009 daily quota | pending again when the quota allows (the next minute; the next day) |
/// | timeout or reset after the request went out | `unknown`: never repeated blindly (a template message is: WeChat de-duplicates it by client_msg_id) |
/// | 45015, 45047, 40003, 43004 … (final for the message) | `failed`, with the errcode and what it means |
/// | 40164, 40125, 48001 … (the operator must act) | `failed`, and an alert (/status, log, metric) |
struct WeChatOutboxSender: OutboxSender {
    let client: WeChatAPIClient
    let media: MediaLibrary
    let rules: LiveRules
    /// Tries before a message that keeps failing to get through is given up.
    static let maxAttempts = 8

    /// The access token (and a rule-set file's upload) before the message is marked `sending`: a
    /// crash or a slow token leaves the message pending, to be sent after a restart — only the
    /// message's own request can have an unknown outcome.
    func prepare(_ message: OutboxMessage, at time: Int64) async -> OutboxResult? {
        do {
            _ = try await client.tokens.token()
            if case .message(.mediaFile(let file)) = message.content, media.mediaID(for: file) == nil {
                try await media.upload(file, from: rules.engine.rules)
            }
            return nil
        } catch let error as WeChatAPIError {
            // Nothing of the message went out: whatever the failure, it is safe to try again.
            if error.disposition == .outcomeUnknown || error.disposition == .notSent || error.disposition == .busy {
                return .retry(at: time + 30, "\(error.errcode.map { "errcode \($0): " } ?? "")\(error.errmsg) — before sending; tried again in 30 s")
            }
            return Self.result(of: error, message: message, at: time)
        } catch {
            return .failed("\(error)")
        }
    }

    func send(_ message: OutboxMessage, at time: Int64) async -> OutboxResult {
        do {
            switch message.content {
            case .call(let request):
                return .failed("\(request.summary) is a call, not a WeChat message (the outbox worker makes calls itself)")
            case .message(.mediaFile(let file)):
                // A rule-set file: its id, uploading it first if it has none; once more if WeChat forgot it (40007).
                for attempt in 0..<2 {
                    var id = media.mediaID(for: file)
                    if id == nil { id = try await media.upload(file, from: rules.engine.rules) }
                    guard let id else { break }
                    do {
                        try await client.send(Self.customerService(file.withMediaID(id))!, to: message.user)
                        return .sent(msgid: nil)
                    } catch let error as WeChatAPIError where error.errcode == 40007 && attempt == 0 {
                        media.forget(file)
                    }
                }
                return .failed("WeChat refused the media_id of \(file.path) twice (40007)")
            case .message(let reply):
                guard let outbound = Self.customerService(reply) else {
                    return .skipped("a \(reply.preview) cannot be sent as a customer-service message")
                }
                try await client.send(outbound, to: message.user)
                return .sent(msgid: nil)
            case .template(let template):
                var data: [String: TemplateMessage.Field] = [:]
                for field in template.data { data[field.key] = .init(field.value) }
                let msgid = try await client.sendTemplate(TemplateMessage(
                    toUser: message.user, templateID: template.templateID, url: template.url,
                    miniProgram: template.miniprogramAppID.map { MiniProgramLink(appID: $0, pagePath: template.miniprogramPagePath ?? "") },
                    clientMessageID: template.clientMessageID, data: data))
                return .sent(msgid: msgid)
            }
        } catch let error as WeChatAPIError {
            return Self.result(of: error, message: message, at: time)
        } catch let error as MediaLibrary.MissingFile {
            return .failed(error.description)
        } catch {
            return .unknown("\(error)")
        }
    }

    static func result(of error: WeChatAPIError, message: OutboxMessage, at time: Int64) -> OutboxResult {
        let said = error.errcode.map { "errcode \($0): \(error.errmsg)" } ?? error.errmsg
        switch error.disposition {
        case .busy, .notSent:
            return .retry(at: time + 30, "\(said) — tried again in 30 s")
        case .outcomeUnknown:
            if case .template = message.content { return .retry(at: time + 30, "\(said) — a template message is de-duplicated by WeChat, so it is sent again") }
            return .unknown("\(said) — WeChat may have delivered it; not sent again")
        case .operatorAction:
            if let again = error.retryAt { return .retry(at: again, "\(said) — \(error.whatToDo)") }
            return .failed("\(said) — \(error.whatToDo)")
        case .token, .final, .bug:
            return .failed("\(said) — \(error.whatToDo)")
        }
    }

    /// The customer-service form of a reply part (nil: a transfer, which only a passive reply can do).
    static func customerService(_ reply: RenderedReply) -> CustomerServiceMessage? {
        switch reply {
        case .text(let text): .text(text)
        case .image(let id): .image(mediaID: id)
        case .voice(let id): .voice(mediaID: id)
        case .video(let id, let title, let description): .video(mediaID: id, title: title, description: description)
        case .music(let title, let description, let url, let hqURL, let thumb):
            .music(.init(title: title, description: description, musicURL: url ?? "", hqMusicURL: hqURL ?? url ?? "", thumbMediaID: thumb))
        case .news(let articles):
            articles.first.map { .news(.init(title: $0.title, description: $0.description, url: $0.url, pictureURL: $0.picURL)) }
        case .transfer, .mediaFile: nil
        }
    }
}
