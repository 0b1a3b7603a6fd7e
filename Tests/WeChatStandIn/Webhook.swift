import AsyncHTTPClient
import Foundation
import KefuWeChat
import NIOCore

/// Pushes to the account's webhook as WeChat does: the XML signed with the Token (`signature`,
/// `timestamp`, `nonce`, `openid`), and in secure mode encrypted with the EncodingAESKey and signed
/// again (`msg_signature`), using KefuWeChat's own platform side of the protocol.
struct Webhook: Sendable {
    let url: String
    let platform: WeChatPlatform
    var encrypted: Bool { platform.configuration.aesKey != nil }

    struct Delivery: Sendable {
        var status: Int
        /// What the webhook answered, decrypted when it was an encrypted reply.
        var body: String
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Posts `message`. The signed timestamp is the real time (the receiver checks it against its own
    /// clock); `CreateTime` inside the message is the stand-in's clock.
    func deliver(_ message: InboundMessage) async throws -> Delivery {
        let mode: SecurityMode = encrypted ? .secure : .plaintext
        let signed: (query: SignedQuery, body: [UInt8])
        do {
            signed = try platform.push(message, mode: mode, timestamp: Int64(Date().timeIntervalSince1970), nonce: Random.alphanumeric(10))
        } catch {
            throw Failure(description: "could not sign the push: \(error)")
        }
        guard var components = URLComponents(string: url) else { throw Failure(description: "bad webhook URL \(url)") }
        let signedItems = signed.query.parameters.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
        components.queryItems = (components.queryItems ?? []) + signedItems
        guard let target = components.url?.absoluteString else { throw Failure(description: "bad webhook URL \(url)") }
        var request = HTTPClientRequest(url: target)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "text/xml")
        request.body = .bytes(ByteBuffer(bytes: signed.body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = Array(buffer: try await response.body.collect(upTo: 1 << 20))
        var text = String(decoding: bytes, as: UTF8.self)
        if response.status.code == 200, let answer = try? platform.readResponse(bytes, mode: mode) {
            switch answer {
            case .reply(let reply): text = String(decoding: reply.xml(), as: UTF8.self)
            case .success: text = "success"
            case .empty: text = ""
            }
        }
        return Delivery(status: Int(response.status.code), body: text)
    }
}
