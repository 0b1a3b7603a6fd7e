/// What a rule answers with. A passive reply is one message; the forms below pick or build that one.
public indirect enum RuleReply: Sendable, Equatable {
    case text(Template)
    /// One of these, chosen at random (seeded in tests, so `kefu test` is deterministic).
    case random([RuleReply])
    /// Several texts meant to be read in order. WeChat allows one passive reply, so they are sent
    /// as one text message, separated by a blank line.
    case inOrder([Template])
    case image(mediaId: String)
    case voice(mediaId: String)
    case video(mediaId: String, title: Template?, description: Template?)
    case music(Music)
    /// News articles; WeChat shows exactly one in answer to a user's message, up to 8 for an event.
    case news([NewsArticle])
    /// Hand the conversation to a human agent (transfer_customer_service), optionally a given one.
    case transfer(kfAccount: String?)
    /// An image, voice or video file of the rule set (`image: {file: media/size-chart.png}`),
    /// uploaded as temporary media when it is sent.
    case mediaFile(MediaFileReply)
    /// Several messages, in order (`messages: [文字, {image: {file: …}}]`): the first is the passive
    /// reply, the rest go out as customer-service messages right after it (WeChat's API). Each is
    /// a message of its own, texts included.
    case messages([RuleReply])

    public struct MediaFileReply: Sendable, Equatable {
        public var kind: MediaFile.Kind
        /// As written: relative to the rule-set folder; where, for lint.
        public var path: Located<String>
        /// Videos only.
        public var title: Template?
        public var description: Template?
        public init(kind: MediaFile.Kind, path: Located<String>, title: Template? = nil, description: Template? = nil) {
            self.kind = kind
            self.path = path
            self.title = title
            self.description = description
        }
    }

    public struct Music: Sendable, Equatable {
        public var title: Template?
        public var description: Template?
        public var url: String?
        public var hqURL: String?
        public var thumbMediaId: String
    }

    public struct NewsArticle: Sendable, Equatable {
        public var title: Template
        public var description: Template?
        public var url: String?
        public var picURL: String?
    }

    /// Whether it is text (plain, random texts or in order), which can be combined with other text.
    public var isText: Bool {
        switch self {
        case .text, .inOrder: true
        case .random(let replies): replies.allSatisfy(\.isText)
        default: false
        }
    }

    /// Every template in the reply (for checks on variables and length).
    public var templates: [Template] {
        switch self {
        case .text(let t): [t]
        case .random(let replies): replies.flatMap(\.templates)
        case .inOrder(let ts): ts
        case .video(_, let title, let description): [title, description].compactMap { $0 }
        case .music(let m): [m.title, m.description].compactMap { $0 }
        case .news(let articles): articles.flatMap { [$0.title] + ($0.description.map { [$0] } ?? []) }
        case .mediaFile(let file): [file.title, file.description].compactMap { $0 }
        case .messages(let replies): replies.flatMap(\.templates)
        case .image, .voice, .transfer: []
        }
    }

    /// Every media file the reply names (for lint).
    public var mediaFiles: [MediaFileReply] {
        switch self {
        case .mediaFile(let file): [file]
        case .random(let replies), .messages(let replies): replies.flatMap(\.mediaFiles)
        default: []
        }
    }
}

/// Reply text with `{{name}}` placeholders filled from a rule's captures.
public struct Template: Sendable, Equatable, CustomStringConvertible {
    public enum Segment: Sendable, Equatable {
        case literal(String)
        case variable(String)
    }

    public let source: String
    public let segments: [Segment]

    /// Parses `{{ name }}` placeholders; `{{` without a closing `}}` stays literal text.
    public init(_ source: String) {
        self.source = source
        var segments: [Segment] = []
        var rest = Substring(source)
        while let open = rest.firstRange(of: "{{") {
            guard let close = rest[open.upperBound...].firstRange(of: "}}") else { break }
            if open.lowerBound > rest.startIndex { segments.append(.literal(String(rest[..<open.lowerBound]))) }
            let name = rest[open.upperBound..<close.lowerBound].trimmingSpaces()
            segments.append(.variable(name))
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { segments.append(.literal(String(rest))) }
        self.segments = segments
    }

    public var variables: [String] {
        segments.compactMap { if case .variable(let name) = $0 { name } else { nil } }
    }

    /// Fills the placeholders from slots and captures, then facts; an unknown variable renders as
    /// empty (lint reports it beforehand).
    public func render(_ values: [String: String], facts: Facts? = nil) -> String {
        var out = ""
        for segment in segments {
            switch segment {
            case .literal(let text): out += text
            case .variable(let name): out += values[name] ?? facts?.resolve(name, slots: values) ?? ""
            }
        }
        return out
    }

    public var description: String { source }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let first = s.first, first == " " || first == "\t" { s.removeFirst() }
        while let last = s.last, last == " " || last == "\t" { s.removeLast() }
        return String(s)
    }
}
