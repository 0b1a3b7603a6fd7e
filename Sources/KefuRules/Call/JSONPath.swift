/// The small JSON path `save:` reads a response with: `$` the whole answer, `.name` a field
/// (`$.shipment.carrier`), `[0]` an element (`$.items[0].name`, `[-1]` the last), `[*]` every
/// element (`$.alternatives[*].label`, kept as the values joined with 、).
///
/// That is all of it: no filters, no recursive descent — a support lead reads it as the way to the field.
public struct JSONPath: Sendable, Equatable, CustomStringConvertible {
    public enum Step: Sendable, Equatable {
        case field(String)
        case index(Int)
        case every
    }

    public let steps: [Step]
    public let source: String

    /// Reads a path; the error says what is wrong at which character.
    public static func parse(_ text: String) -> Result<JSONPath, PathError> {
        let chars = Array(text)
        guard chars.first == "$" else { return .failure(PathError(offset: 0, "a path starts with $ (the whole answer), e.g. $.status")) }
        var i = 1, steps: [Step] = []
        while i < chars.count {
            switch chars[i] {
            case ".":
                var j = i + 1
                while j < chars.count, chars[j] != ".", chars[j] != "[" { j += 1 }
                let name = String(chars[(i + 1)..<j])
                if name.isEmpty { return .failure(PathError(offset: i, "a '.' must be followed by a field name")) }
                if name.contains(where: { $0 == " " || $0 == "]" || $0 == "*" }) {
                    return .failure(PathError(offset: i + 1, "the field name '\(name)' cannot contain spaces, ']' or '*'"))
                }
                steps.append(.field(name))
                i = j
            case "[":
                guard let close = chars[i...].firstIndex(of: "]") else { return .failure(PathError(offset: i, "'[' has no closing ']'")) }
                let inside = String(chars[(i + 1)..<close])
                if inside == "*" { steps.append(.every) }
                else if let n = Int(inside) { steps.append(.index(n)) }
                else if inside.count >= 2, let q = inside.first, q == "'" || q == "\"", inside.last == q {
                    steps.append(.field(String(inside.dropFirst().dropLast())))
                } else {
                    return .failure(PathError(offset: i, "[\(inside)] must be a number ([0], [-1]), [*] or a quoted name (['a b'])"))
                }
                i = close + 1
            default:
                return .failure(PathError(offset: i, "unexpected '\(chars[i])': write .name, [0] or [*] after $"))
            }
        }
        if steps.filter({ $0 == .every }).count > 1 { return .failure(PathError(offset: 0, "a path may use [*] only once")) }
        return .success(JSONPath(steps: steps, source: text))
    }

    public struct PathError: Error, Sendable, Equatable {
        public var offset: Int
        public var message: String
        init(offset: Int, _ message: String) { self.offset = offset; self.message = message }
    }

    public var description: String { source }

    /// What the path finds: nil when a field or element is missing (a `[*]` finds the values it can).
    public func select(_ value: JSONValue) -> JSONValue? {
        select(value, steps[...])
    }

    private func select(_ value: JSONValue, _ rest: ArraySlice<Step>) -> JSONValue? {
        guard let step = rest.first else { return value }
        let next = rest.dropFirst()
        switch (step, value) {
        case (.field(let name), .object(let fields)):
            return fields[name].flatMap { select($0, next) }
        case (.index(let n), .array(let items)):
            let i = n < 0 ? items.count + n : n
            return items.indices.contains(i) ? select(items[i], next) : nil
        case (.every, .array(let items)):
            return .array(items.compactMap { select($0, next) })
        default:
            return nil
        }
    }

    /// The text a slot keeps: the value's text, or a `[*]`'s values joined with 、 (nil when none).
    public func text(in value: JSONValue) -> String? {
        guard let found = select(value) else { return nil }
        if steps.contains(.every), case .array(let items) = found {
            let texts = items.compactMap(\.slotText)
            return texts.isEmpty ? nil : texts.joined(separator: "、")
        }
        return found.slotText
    }
}
