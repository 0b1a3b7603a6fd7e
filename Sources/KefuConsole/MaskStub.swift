// TEMPORARY until the helper's Masking.swift is merged (same API).
public enum Mask {
    public static func openid(_ id: String) -> String { id.count <= 8 ? "****" : String(id.prefix(4)) + "…" + String(id.suffix(4)) }
    public static func phoneNumbers(in text: String) -> String { text }
}
