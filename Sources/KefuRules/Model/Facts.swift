/// Named values written once (`facts:` in a rule file) and used in any reply, question or `if:`:
/// the hotline, and per-branch tables (address, phone, hours) keyed by the branch's name.
///
/// ```yaml
/// facts:
///   热线: 400-820-1234
///   门店:
///     国贸店: {地址: 国贸商城北区 B1, 电话: 010-6505-1234}
/// ```
/// In a template: `{{热线}}`; `{{门店[国贸店].地址}}`; and `{{门店.地址}}`, whose row is the value of the
/// slot (or capture) called 门店 — so a flow that asks `slot: 门店` can say that branch's address.
public struct Facts: Sendable, Equatable {
    /// Plain facts: name → value.
    public var values: [String: String] = [:]
    /// Tables: name → row key → field → value.
    public var tables: [String: [String: [String: String]]] = [:]
    /// Where each fact or table was written (for duplicates and lint).
    public var locations: [String: SourceLocation] = [:]
    /// `hours:` table name → its week in words: `{{门诊时间}}`, and a fact whose value names a table
    /// (`{{门店.营业时间}}`), render as "周一至周五 08:00-17:30，周六 08:00-12:00，周日 休息".
    public var hoursSummaries: [String: String] = [:]

    public init() {}

    public var isEmpty: Bool { values.isEmpty && tables.isEmpty && hoursSummaries.isEmpty }

    /// A reference as written in a template: `热线`, `门店.地址` or `门店[国贸店].地址`.
    public struct Reference: Sendable, Equatable {
        public var name: String
        /// The row given in brackets; nil = the row named by the slot called `name`.
        public var row: String?
        public var field: String?

        /// Nil for a plain name (a slot, a capture or a plain fact).
        public init?(_ text: String) {
            guard text.contains(".") || text.contains("[") else { return nil }
            var rest = Substring(text)
            if let open = rest.firstIndex(of: "[") {
                guard let close = rest[open...].firstIndex(of: "]") else { return nil }
                name = String(rest[..<open])
                row = String(rest[rest.index(after: open)..<close])
                rest = rest[rest.index(after: close)...]
            } else {
                let dot = rest.firstIndex(of: ".")!
                name = String(rest[..<dot])
                row = nil
                rest = rest[dot...]
            }
            if rest.isEmpty { field = nil; return }
            guard rest.first == ".", rest.count > 1 else { return nil }
            field = String(rest.dropFirst())
        }
    }

    /// The value of a template variable that is not a slot: a plain fact, or a table field whose
    /// row is given in brackets or by the slot of the table's name. An hours table's name — said
    /// directly, or as the value of a field — renders as that table's week.
    public func resolve(_ variable: String, slots: [String: String]) -> String? {
        guard let reference = Reference(variable) else { return values[variable] ?? hoursSummaries[variable] }
        return field(reference, slots).map { hoursSummaries[$0] ?? $0 }
    }

    /// The raw value of a fact reference (an hours table's name stays its name): what date limits use.
    public func rawValue(_ variable: String, slots: [String: String]) -> String? {
        guard let reference = Reference(variable) else { return values[variable] }
        return field(reference, slots)
    }

    func field(_ reference: Reference, _ slots: [String: String]) -> String? {
        guard let table = tables[reference.name], let key = reference.row ?? slots[reference.name], let field = reference.field else { return nil }
        return table[key]?[field]
    }
}
