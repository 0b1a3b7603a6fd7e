/// One element of a WeChat XML document: its name, its character data (CDATA and text joined,
/// exactly as sent) and its child elements in document order.
///
/// WeChat's XML is small and flat (a root `<xml>` with a dozen children, a few nested groups such as
/// `<ScanCodeInfo>`), so a tree of values with linear lookup is both the simplest and the fastest
/// form: no dictionary is built per message. Attributes are accepted by the reader but not kept;
/// WeChat uses none.
public struct XMLTree: Sendable, Equatable {
    public var name: String
    /// The element's character data. For an element with children this is the whitespace between
    /// them; callers read ``children`` instead.
    public var text: String
    public var children: [XMLTree]

    public init(name: String, text: String = "", children: [XMLTree] = []) {
        self.name = name
        self.text = text
        self.children = children
    }

    /// The first child with this exact (case-sensitive) name.
    public subscript(_ childName: String) -> XMLTree? {
        children.first { $0.name == childName }
    }

    /// The text of the first child with this name, or nil when there is no such child.
    public func text(of childName: String) -> String? {
        self[childName]?.text
    }

    /// All children with this name (for repeated `<item>` lists).
    public func all(_ childName: String) -> [XMLTree] {
        children.filter { $0.name == childName }
    }

    /// Leaf children as name → text pairs, in document order. Unknown message types and events
    /// keep all their fields this way.
    public var leafFields: [(name: String, text: String)] {
        children.filter { $0.children.isEmpty }.map { ($0.name, $0.text) }
    }
}
