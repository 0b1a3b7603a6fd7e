// Per-message cost of the WeChat adapter, release build: `make bench-wechat`.
//
// Compares our strict XML reader with FoundationXML's XMLParser on the same message (the choice
// documented in XMLReader.swift), then times the whole plaintext and secure-mode paths
// (verify, decrypt, parse, build the reply, encrypt, sign). Medians of 11 batches.
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import KefuWeChat

let fixtures = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "Tests/KefuWeChatTests/Fixtures/vectors"
guard let textMessage = FileManager.default.contents(atPath: fixtures + "/inbound-text.xml").map(Array.init) else {
    fatalError("run from the repository root, or pass the fixtures folder")
}

@inline(never) func consume<T>(_ value: T) { withExtendedLifetime(value) {} }

/// Median nanoseconds per operation over 11 batches.
func measure(_ name: String, iterations: Int = 20_000, _ body: () throws -> Void) rethrows -> Double {
    for _ in 0..<(iterations / 10) { try body() }  // warm up
    var samples: [Double] = []
    for _ in 0..<11 {
        let start = ContinuousClock.now
        for _ in 0..<iterations { try body() }
        let elapsed = ContinuousClock.now - start
        let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        samples.append(ns / Double(iterations))
    }
    samples.sort()
    let median = samples[samples.count / 2]
    print(String(format: "%-58@ %10.0f ns/msg  (%8.0f msg/s)", name as NSString, median, 1e9 / median))
    return median
}

/// What an adapter on XMLParser would do: collect each element's text into a dictionary.
final class FoundationCollector: NSObject, XMLParserDelegate {
    var fields: [String: String] = [:]
    var current = ""
    var text = ""
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        current = name
        text = ""
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
    func parser(_ parser: XMLParser, foundCDATA block: Data) { text += String(decoding: block, as: UTF8.self) }
    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        fields[name] = text
    }
}

print("WeChat adapter, per message (\(textMessage.count)-byte text message)")
let ours = try measure("parse: KefuWeChat XMLReader + typed InboundMessage") {
    consume(try InboundMessage(xml: textMessage))
}
let data = Data(textMessage)
let foundation = measure("parse: FoundationXML XMLParser → [String: String]") {
    let parser = XMLParser(data: data)
    let collector = FoundationCollector()
    parser.delegate = collector
    precondition(parser.parse())
    consume(collector.fields)
}
print(String(format: "  → our reader is %.1f× FoundationXML", foundation / ours))

let configuration = WeChatConfiguration(token: "SwiftBotToken2024", appID: "wx3f2a1b4c5d6e7f80",
                                        aesKey: try EncodingAESKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"),
                                        timestampToleranceSeconds: nil, accepted: .compatible)
let endpoint = try WeChatEndpoint(configuration)
let platform = try WeChatPlatform(configuration)
let message = try InboundMessage(xml: textMessage)
for mode in [SecurityMode.plaintext, .secure] {
    let (query, body) = try platform.push(message, mode: mode, timestamp: 1_718_003_600, nonce: "1830464542")
    _ = try measure("\(mode.rawValue): verify + \(mode == .secure ? "decrypt + " : "")parse + reply + \(mode == .secure ? "encrypt + sign" : "write")") {
        let opened = try endpoint.open(body, query: query, now: 1_718_003_600)
        let reply = try Reply.answering(opened.message, with: .text("您好！订单已发货，预计 2–4 天送达。"), at: 1_718_003_601)
        consume(try endpoint.seal(.reply(reply), for: opened, timestamp: 1_718_003_601, nonce: opened.nonce))
    }
}
let readerOnly = XMLReader()
_ = try measure("parse: XMLReader alone (tree of elements)") { consume(try readerOnly.parse(textMessage)) }
let tree = try readerOnly.parse(textMessage)
_ = try measure("parse: typed decode alone (tree → InboundMessage)") { consume(try InboundMessage(tree: tree)) }
