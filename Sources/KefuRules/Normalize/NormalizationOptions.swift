/// The one normalization pipeline of a rule set (`settings: normalize:`), applied identically to
/// rule keywords at compile time and to messages at match time. Steps run per character in the
/// order of the properties below; `kefu explain` shows the text after each one.
public struct NormalizationOptions: Sendable, Hashable {
    public enum ChineseForm: String, Sendable, CaseIterable { case simplified, keep }
    public enum Treatment: String, Sendable, CaseIterable { case remove, keep }
    public enum Spaces: String, Sendable, CaseIterable {
        /// Drop spaces next to Chinese (and Japanese, Korean) characters, collapse the rest to one.
        case auto
        /// Drop every space.
        case remove
        /// Collapse each run of spaces to one.
        case collapse
        /// Keep spaces as typed.
        case keep
    }

    /// 全角 → 半角: full-width letters, digits and signs (Ａ１！) become ASCII; the ideographic space a space.
    public var width = true
    /// Letters are compared in lower case.
    public var caseFold = true
    /// 繁 → 简, one character at a time (OpenCC's table).
    public var chinese = ChineseForm.simplified
    /// Punctuation (，。！？、“” and ASCII) is removed; between Latin words it separates them like a space.
    public var punctuation = Treatment.remove
    /// Emoji (and their modifiers and joiners) are removed.
    public var emoji = Treatment.remove
    public var spaces = Spaces.auto

    public init() {}
}
