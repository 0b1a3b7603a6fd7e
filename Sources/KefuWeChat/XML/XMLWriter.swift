/// Builds the XML WeChat expects in a passive reply: elements in a fixed order, strings in CDATA,
/// integers bare, no XML declaration, no byte-order mark, no whitespace between elements.
///
/// Escaping: a CDATA section cannot contain `]]>`, so that sequence is split across two sections
/// (`]]]]><![CDATA[>`), which every XML parser joins back. Characters that XML 1.0 forbids
/// (U+0000–U+0008, U+000B, U+000C, U+000E–U+001F, U+FFFE, U+FFFF) are dropped: one of them
/// would make WeChat reject the whole reply. Swift strings cannot hold lone surrogates.
public struct XMLWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 512) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func open(_ name: StaticString) {
        bytes.append(0x3C)
        append(name)
        bytes.append(0x3E)
    }

    public mutating func close(_ name: StaticString) {
        bytes.append(0x3C)
        bytes.append(0x2F)
        append(name)
        bytes.append(0x3E)
    }

    /// `<name><![CDATA[value]]></name>`
    public mutating func cdata(_ name: StaticString, _ value: String) {
        open(name)
        appendCDATA(value)
        close(name)
    }

    /// `<name>value</name>` for a bare integer.
    public mutating func integer(_ name: StaticString, _ value: some BinaryInteger) {
        open(name)
        bytes.append(contentsOf: String(value).utf8)
        close(name)
    }

    /// Writes an element received earlier (names chosen at run time): leaves as CDATA, groups recursively.
    public mutating func tree(_ element: XMLTree) {
        bytes.append(0x3C); bytes.append(contentsOf: element.name.utf8); bytes.append(0x3E)
        if element.children.isEmpty {
            appendCDATA(element.text)
        } else {
            for child in element.children { tree(child) }
        }
        bytes.append(0x3C); bytes.append(0x2F); bytes.append(contentsOf: element.name.utf8); bytes.append(0x3E)
    }

    /// Bare text that is known to need no escaping (numbers).
    mutating func raw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// Already-written XML (from another writer of this module).
    mutating func appendRaw(_ xml: some Sequence<UInt8>) {
        bytes.append(contentsOf: xml)
    }

    /// Raw newline, used only where a peer's layout is reproduced byte for byte (the envelope).
    public mutating func newline() {
        bytes.append(0x0A)
    }

    private mutating func append(_ name: StaticString) {
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Copies the UTF-8 of `value` in runs, stopping only at the rare bytes that need care.
    private mutating func appendCDATA(_ value: String) {
        bytes.append(contentsOf: XMLWriter.cdataOpen)
        var value = value
        value.withUTF8 { u in
            var runStart = 0
            var i = 0
            while i < u.count {
                let b = u[i]
                if b < 0x20, b != 0x09, b != 0x0A, b != 0x0D {
                    // A C0 control character: not allowed in XML 1.0.
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[runStart..<i]))
                    i += 1
                    runStart = i
                } else if b == 0xEF, i + 2 < u.count, u[i + 1] == 0xBF, u[i + 2] == 0xBE || u[i + 2] == 0xBF {
                    // U+FFFE or U+FFFF: not characters.
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[runStart..<i]))
                    i += 3
                    runStart = i
                } else if b == 0x0D {
                    // A carriage return: a reader turns a raw one into "\n" (XML 1.0 §2.11), also in
                    // CDATA, so it leaves the section and is written as a character reference.
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[runStart..<i]))
                    bytes.append(contentsOf: XMLWriter.carriageReturn)
                    i += 1
                    runStart = i
                } else if b == 0x3E {
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[runStart..<i]))
                    let n = bytes.count
                    if bytes[n - 1] == 0x5D, bytes[n - 2] == 0x5D {
                        // "]]>" in the text: end this section after "]]" and start a new one for ">".
                        bytes.append(contentsOf: XMLWriter.cdataSplit)
                    } else {
                        bytes.append(b)
                    }
                    i += 1
                    runStart = i
                } else {
                    i += 1
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[runStart..<u.count]))
        }
        bytes.append(contentsOf: XMLWriter.cdataClose)
    }

    private static let cdataOpen: [UInt8] = Array("<![CDATA[".utf8)
    private static let cdataClose: [UInt8] = Array("]]>".utf8)
    /// Emitted in place of a carriage return.
    private static let carriageReturn: [UInt8] = Array("]]>&#13;<![CDATA[".utf8)
    /// Emitted in place of the `>` of a `]]>` whose `]]` is already written.
    private static let cdataSplit: [UInt8] = Array("]]><![CDATA[>".utf8)
}
