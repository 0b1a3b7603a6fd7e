import Synchronization

/// Applies ``NormalizationOptions`` to text. Value type; build once per rule set.
///
///     let normalizer = Normalizer(options)
///     let text = normalizer.normalize("我要ＲＥＦＵＮＤ！！")   // "我要refund"
///     text.originalRange(of: 6..<12)                          // where "refund" was typed
public struct Normalizer: Sendable {
    public let options: NormalizationOptions
    /// Every step's answer for each BMP character, computed once per set of options (see ``ScalarTable``).
    let table: ScalarTable

    public init(_ options: NormalizationOptions = NormalizationOptions()) {
        self.options = options
        table = ScalarTable.shared(for: options)
    }

    /// The named steps, in the order they apply, that `explain` shows.
    public enum Step: String, Sendable, CaseIterable {
        case width = "全角→半角 (width)"
        case caseFold = "大小写 (case)"
        case chinese = "繁→简 (chinese)"
        case punctuation = "标点 (punctuation)"
        case emoji = "表情 (emoji)"
        case spaces = "空格 (spaces)"
    }

    /// The text after each enabled step, cumulatively (for `kefu explain`).
    public func trace(_ text: String) -> [(step: Step, text: String)] {
        var partial = NormalizationOptions()
        partial.width = false; partial.caseFold = false; partial.chinese = .keep
        partial.punctuation = .keep; partial.emoji = .keep; partial.spaces = .keep
        var result: [(Step, String)] = []
        for step in Step.allCases {
            switch step {
            case .width: guard options.width else { continue }; partial.width = true
            case .caseFold: guard options.caseFold else { continue }; partial.caseFold = true
            case .chinese: guard options.chinese == .simplified else { continue }; partial.chinese = .simplified
            case .punctuation: guard options.punctuation == .remove else { continue }; partial.punctuation = .remove
            case .emoji: guard options.emoji == .remove else { continue }; partial.emoji = .remove
            case .spaces: guard options.spaces != .keep else { continue }; partial.spaces = options.spaces
            }
            result.append((step, Normalizer(partial).normalize(text).string))
        }
        return result
    }

    public func normalize(_ text: String) -> NormalizedText {
        var text = text
        return text.withUTF8 { normalize(utf8: $0) }
    }

    /// The work of ``normalize(_:)`` on valid UTF-8: decodes each character by hand, looks it up
    /// in the scalar table, and writes the bytes and their origins into preallocated buffers (a
    /// lower-casing can lengthen a character, so they have room for twice the input).
    func normalize(utf8 input: UnsafeBufferPointer<UInt8>) -> NormalizedText {
        let n = input.count
        let capacity = 2 * n + 4
        var written = 0
        var starts = [Int32](repeating: 0, count: 0)
        var ends = [Int32](repeating: 0, count: 0)
        let bytes = [UInt8](unsafeUninitializedCapacity: capacity) { out, initialized in
            starts = [Int32](unsafeUninitializedCapacity: capacity) { startOut, startCount in
                ends = [Int32](unsafeUninitializedCapacity: capacity) { endOut, endCount in
                    var w = 0
                    func put(_ value: UInt32, _ from: Int, _ to: Int) {
                        let a = Int32(from), b = Int32(to)
                        if value < 0x80 {
                            out[w] = UInt8(value); startOut[w] = a; endOut[w] = b; w += 1
                        } else if value < 0x800 {
                            out[w] = UInt8(0xC0 | value >> 6); out[w + 1] = UInt8(0x80 | value & 0x3F)
                            startOut[w] = a; startOut[w + 1] = a; endOut[w] = b; endOut[w + 1] = b; w += 2
                        } else if value < 0x10000 {
                            out[w] = UInt8(0xE0 | value >> 12); out[w + 1] = UInt8(0x80 | (value >> 6) & 0x3F); out[w + 2] = UInt8(0x80 | value & 0x3F)
                            startOut[w] = a; startOut[w + 1] = a; startOut[w + 2] = a; endOut[w] = b; endOut[w + 1] = b; endOut[w + 2] = b; w += 3
                        } else {
                            out[w] = UInt8(0xF0 | value >> 18); out[w + 1] = UInt8(0x80 | (value >> 12) & 0x3F)
                            out[w + 2] = UInt8(0x80 | (value >> 6) & 0x3F); out[w + 3] = UInt8(0x80 | value & 0x3F)
                            for k in 0..<4 { startOut[w + k] = a; endOut[w + k] = b }
                            w += 4
                        }
                    }
                    // A separator (space, or removed punctuation/emoji) seen since the last kept character.
                    var pendingFrom = -1, pendingTo = -1
                    var previousWide = false
                    var i = 0
                    table.entries.withUnsafeBufferPointer { entries in
                        while i < n {
                            let lead = input[i]
                            var value: UInt32, length: Int
                            if lead < 0x80 { value = UInt32(lead); length = 1 }
                            else if lead < 0xE0 { value = UInt32(lead & 0x1F) << 6 | UInt32(input[i + 1] & 0x3F); length = 2 }
                            else if lead < 0xF0 {
                                value = UInt32(lead & 0x0F) << 12 | UInt32(input[i + 1] & 0x3F) << 6 | UInt32(input[i + 2] & 0x3F); length = 3
                            } else {
                                value = UInt32(lead & 0x07) << 18 | UInt32(input[i + 1] & 0x3F) << 12 | UInt32(input[i + 2] & 0x3F) << 6
                                    | UInt32(input[i + 3] & 0x3F)
                                length = 4
                            }
                            let from = i, to = i + length
                            i = to
                            let entry = value < 0x10000 ? entries[Int(value)] : table.compute(Unicode.Scalar(value) ?? "\u{FFFD}")
                            if entry & ScalarTable.space != 0 {
                                if options.spaces == .keep { put(entry & ScalarTable.valueMask, from, to) }
                                else if pendingFrom < 0 { pendingFrom = from; pendingTo = to }
                                continue
                            }
                            if entry & ScalarTable.removed != 0 {
                                if options.spaces != .keep, pendingFrom < 0 { pendingFrom = from; pendingTo = to }
                                continue
                            }
                            let wide = entry & ScalarTable.wide != 0
                            if pendingFrom >= 0 {
                                switch options.spaces {
                                case .collapse: if w > 0 { put(0x20, pendingFrom, pendingTo) }
                                case .auto: if w > 0, !wide, !previousWide { put(0x20, pendingFrom, pendingTo) }
                                case .remove, .keep: break
                                }
                                pendingFrom = -1
                            }
                            put(entry & ScalarTable.valueMask, from, to)
                            previousWide = wide
                        }
                    }
                    written = w
                    endCount = w
                }
                startCount = written
            }
            initialized = written
        }
        var result = NormalizedText()
        result.bytes = bytes
        result.originStart = starts
        result.originEnd = ends
        return result
    }

    // MARK: Character classes

    /// 全角 → 半角 for one character (the `width` step).
    public static func halfWidth(_ s: Unicode.Scalar) -> Unicode.Scalar {
        switch s.value {
        case 0xFF01...0xFF5E: Unicode.Scalar(s.value - 0xFEE0)!
        case 0x3000: " "
        default: s
        }
    }

    static func isSpace(_ s: Unicode.Scalar) -> Bool {
        s.value < 0x80 ? (s == " " || s == "\t" || s == "\n" || s == "\r" || s.value == 0x0B || s.value == 0x0C)
            : s.properties.isWhitespace
    }

    static func lowercase(_ s: Unicode.Scalar) -> Unicode.Scalar {
        if s.value < 0x80 {
            return s.value >= 0x41 && s.value <= 0x5A ? Unicode.Scalar(s.value + 0x20)! : s
        }
        guard s.properties.changesWhenLowercased else { return s }
        let mapping = s.properties.lowercaseMapping.unicodeScalars
        return mapping.count == 1 ? mapping.first! : s
    }

    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x80 {
            // ASCII punctuation and symbols except those that carry meaning in keywords: # + @ _ % & $ ~
            switch s {
            case "!", "\"", "'", "(", ")", ",", "-", ".", "/", ":", ";", "<", "=", ">", "?", "[", "\\", "]", "^", "`", "{", "|", "}", "*": return true
            default: return false
            }
        }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    static func isEmoji(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x2000 { return false }  // keeps digits, '#' and '*', which Unicode also calls emoji
        if v == 0x200D || v == 0xFE0F || v == 0xFE0E || v == 0x20E3 || (0xE0020...0xE007F).contains(v) { return true }
        if (0x1F3FB...0x1F3FF).contains(v) || (0x1F1E6...0x1F1FF).contains(v) { return true }
        let p = s.properties
        return p.isEmojiPresentation || (p.isEmoji && p.generalCategory == .otherSymbol)
    }

    /// Characters written without spaces between them: Han, kana, Hangul, CJK symbols and full-width forms.
    static func isWide(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        return (0x2E80...0x9FFF).contains(v) || (0xAC00...0xD7AF).contains(v) || (0xF900...0xFAFF).contains(v)
            || (0xFF00...0xFFEF).contains(v) || (0x20000...0x3FFFF).contains(v)
    }
}

/// What normalization does to each character, for one set of options: the character it becomes
/// (width, case, 繁→简 applied) and whether it is a space, removed (punctuation or emoji under
/// `remove`), or wide. The BMP is precomputed (256 KB, built once per distinct options and shared);
/// other planes (emoji) are computed on the way.
final class ScalarTable: Sendable {
    static let valueMask: UInt32 = 0x1F_FFFF
    static let space: UInt32 = 1 << 24
    static let removed: UInt32 = 1 << 25
    static let wide: UInt32 = 1 << 26

    let options: NormalizationOptions
    let entries: [UInt32]

    init(_ options: NormalizationOptions) {
        self.options = options
        var entries = [UInt32](repeating: 0, count: 0x10000)
        for v in 0..<0x10000 {
            guard let scalar = Unicode.Scalar(UInt32(v)) else { continue }  // surrogates
            entries[v] = Self.compute(scalar, options)
        }
        self.entries = entries
    }

    func compute(_ scalar: Unicode.Scalar) -> UInt32 { Self.compute(scalar, options) }

    static func compute(_ original: Unicode.Scalar, _ options: NormalizationOptions) -> UInt32 {
        var scalar = original
        if options.width { scalar = Normalizer.halfWidth(scalar) }
        if Normalizer.isSpace(scalar) { return space | scalar.value }
        if options.emoji == .remove, Normalizer.isEmoji(scalar) { return removed | scalar.value }
        if options.punctuation == .remove, Normalizer.isPunctuation(scalar) { return removed | scalar.value }
        if options.caseFold { scalar = Normalizer.lowercase(scalar) }
        if options.chinese == .simplified, scalar.value >= 0x3400,
           let simplified = ChineseConversion.simplified(scalar.value).flatMap(Unicode.Scalar.init) {
            scalar = simplified
        }
        return scalar.value | (Normalizer.isWide(scalar) ? wide : 0)
    }

    private static let cache = Mutex<[NormalizationOptions: ScalarTable]>([:])

    static func shared(for options: NormalizationOptions) -> ScalarTable {
        if let table = cache.withLock({ $0[options] }) { return table }
        let table = ScalarTable(options)  // built outside the lock; a rare duplicate build is harmless
        return cache.withLock { cache in
            if let existing = cache[options] { return existing }
            cache[options] = table
            return table
        }
    }
}
