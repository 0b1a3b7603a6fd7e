/// A rule's reply with its placeholders filled and its random choice made: what the dialogue
/// engine turns into a WeChat passive reply.
public enum RenderedReply: Sendable, Equatable, Codable {
    case text(String)
    case image(mediaId: String)
    case voice(mediaId: String)
    case video(mediaId: String, title: String?, description: String?)
    case music(title: String?, description: String?, url: String?, hqURL: String?, thumbMediaId: String)
    case news([Article])
    case transfer(kfAccount: String?)
    /// A file of the rule set to send as image, voice or video: the adapter uploads it (temporary
    /// media) and sends the media_id it gets.
    case mediaFile(MediaFile)

    public struct Article: Sendable, Equatable, Codable {
        public var title: String
        public var description: String
        public var url: String
        public var picURL: String
    }

    /// One line for people: the text itself, or a bracketed description of media.
    public var preview: String {
        switch self {
        case .text(let text): text
        case .image(let id): "[image \(id)]"
        case .voice(let id): "[voice \(id)]"
        case .video(let id, let title, _): "[video \(title ?? id)]"
        case .music(let title, _, _, _, let thumb): "[music \(title ?? thumb)]"
        case .news(let articles): "[news: " + articles.map(\.title).joined(separator: " | ") + "]"
        case .transfer(let account): "[transfer to customer service\(account.map { " (\($0))" } ?? "")]"
        case .mediaFile(let file): file.preview
        }
    }
}

/// A media file of the rule set, named in a reply: its kind, its path relative to the rule-set
/// folder, and (videos) a title and description.
public struct MediaFile: Sendable, Equatable, Hashable, Codable {
    public enum Kind: String, Sendable, CaseIterable, Hashable, Codable {
        case image, voice, video
    }

    public var kind: Kind
    /// Relative to the rule-set folder, as written (`media/size-chart.png`).
    public var path: String
    public var title: String?
    public var description: String?

    public init(kind: Kind, path: String, title: String? = nil, description: String? = nil) {
        self.kind = kind
        self.path = path
        self.title = title
        self.description = description
    }

    /// `[image media/size-chart.png]`: what `kefu chat` shows and `kefu test` compares.
    public var preview: String { "[\(kind.rawValue) \(path)]" }
}

extension RuleReply {
    /// Fills placeholders from `captures` and picks among `random` variants with `generator`.
    public func render(captures: [String: String], facts: Facts? = nil, using generator: inout some RandomNumberGenerator) -> RenderedReply {
        switch self {
        case .text(let t): return .text(t.render(captures, facts: facts))
        case .random(let replies): return replies.randomElement(using: &generator)!.render(captures: captures, facts: facts, using: &generator)
        case .inOrder(let ts): return .text(ts.map { $0.render(captures, facts: facts) }.joined(separator: "\n\n"))
        case .image(let id): return .image(mediaId: id)
        case .voice(let id): return .voice(mediaId: id)
        case .video(let id, let title, let description):
            return .video(mediaId: id, title: title?.render(captures, facts: facts), description: description?.render(captures, facts: facts))
        case .music(let m):
            return .music(title: m.title?.render(captures, facts: facts), description: m.description?.render(captures, facts: facts), url: m.url, hqURL: m.hqURL,
                          thumbMediaId: m.thumbMediaId)
        case .news(let articles):
            return .news(articles.map { .init(title: $0.title.render(captures, facts: facts), description: $0.description?.render(captures, facts: facts) ?? "",
                                              url: $0.url ?? "", picURL: $0.picURL ?? "") })
        case .transfer(let account): return .transfer(kfAccount: account)
        case .mediaFile(let file):
            return .mediaFile(MediaFile(kind: file.kind, path: file.path.value, title: file.title?.render(captures, facts: facts),
                                        description: file.description?.render(captures, facts: facts)))
        case .messages(let replies):
            // One reply stands for several only where one part is wanted (previews): the first.
            return replies[0].render(captures: captures, facts: facts, using: &generator)
        }
    }

    /// The messages the reply sends, in order: one for every form but `messages:`.
    public func renderMessages(captures: [String: String], facts: Facts? = nil, using generator: inout some RandomNumberGenerator) -> [RenderedReply] {
        if case .messages(let replies) = self { return replies.map { $0.render(captures: captures, facts: facts, using: &generator) } }
        return [render(captures: captures, facts: facts, using: &generator)]
    }

    public func preview(captures: [String: String], facts: Facts? = nil, using generator: inout some RandomNumberGenerator) -> String {
        renderMessages(captures: captures, facts: facts, using: &generator).map(\.preview).joined(separator: " ⏎ ")
    }
}

/// SplitMix64: a small seeded generator, so random replies are reproducible in tests and tools.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension String {
    /// FNV-1a over UTF-8: a hash that is the same in every process (Swift's `hashValue` is not).
    public var hashValueStable: UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return hash
    }
}
