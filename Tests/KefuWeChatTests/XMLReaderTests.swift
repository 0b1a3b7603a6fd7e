import Testing
@testable import KefuWeChat

@Suite("XML reader: hardening")
struct XMLReaderTests {
    let reader = XMLReader()

    @Test("a DOCTYPE is refused before anything in it is read")
    func doctype() {
        let xml = "<?xml version=\"1.0\"?><!DOCTYPE xml [<!ELEMENT xml ANY>]><xml><Content>x</Content></xml>"
        #expect(throws: WeChatError.doctypeRefused(offset: 21)) { try reader.parse(xml) }
    }

    @Test("billion laughs is refused at its DOCTYPE, quickly")
    func billionLaughs() {
        var xml = "<!DOCTYPE lolz [<!ENTITY lol \"lol\">"
        for level in 1...9 {
            let previous = level == 1 ? "lol" : "lol\(level - 1)"
            xml += "<!ENTITY lol\(level) \"" + String(repeating: "&\(previous);", count: 10) + "\">"
        }
        xml += "]><xml><Content>&lol9;</Content></xml>"
        let error = #expect(throws: WeChatError.self) { try reader.parse(xml) }
        #expect(error == .doctypeRefused(offset: 0))
        #expect(error?.code == -40002)
    }

    @Test("an external entity (XXE) is refused, with or without a DOCTYPE")
    func externalEntity() {
        let xxe = "<!DOCTYPE xml [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><xml><Content>&xxe;</Content></xml>"
        #expect(throws: WeChatError.doctypeRefused(offset: 0)) { try reader.parse(xxe) }
        // A bare reference to an undeclared entity.
        #expect(throws: WeChatError.entityRefused(name: "xxe", offset: 14)) { try reader.parse("<xml><Content>&xxe;</Content></xml>") }
        // An entity declaration outside any DOCTYPE.
        #expect(throws: WeChatError.entityRefused(name: "xxe", offset: 0)) { try reader.parse("<!ENTITY xxe SYSTEM \"file:///etc/passwd\"><xml/>") }
        // Inside an attribute value too.
        #expect(throws: WeChatError.entityRefused(name: "a", offset: 8)) { try reader.parse("<xml a=\"&a;\"/>") }
    }

    @Test("processing instructions are refused; a leading XML declaration is accepted")
    func processingInstructions() throws {
        #expect(throws: WeChatError.processingInstructionRefused(target: "php", offset: 5)) { try reader.parse("<xml><?php echo 1; ?></xml>") }
        #expect(throws: WeChatError.processingInstructionRefused(target: "xml-stylesheet", offset: 0)) {
            try reader.parse("<?xml-stylesheet href=\"a\"?><xml/>")
        }
        #expect(throws: WeChatError.processingInstructionRefused(target: "xml", offset: 21)) {
            try reader.parse("<?xml version=\"1.0\"?><?xml version=\"1.0\"?><xml/>")
        }
        #expect(try reader.parse("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xml><a>1</a></xml>").text(of: "a") == "1")
        #expect(try reader.parse("\u{FEFF}<xml><a>1</a></xml>").text(of: "a") == "1")
    }

    @Test("the body size is capped (default 64 KiB, configurable)")
    func oversize() throws {
        let big = "<xml><Content>" + String(repeating: "a", count: 70_000) + "</Content></xml>"
        let error = #expect(throws: WeChatError.self) { try reader.parse(big) }
        #expect(error == .bodyTooLarge(size: big.utf8.count, limit: 65_536))
        let small = XMLReader(maxBytes: 100)
        #expect(throws: WeChatError.bodyTooLarge(size: 101, limit: 100)) { try small.parse(Array(repeating: UInt8(0x20), count: 101)) }
        #expect(try small.parse("<xml><a>1</a></xml>").text(of: "a") == "1")
    }

    @Test("invalid UTF-8 is refused with the offset of the first bad byte", arguments: [
        ([0xC0, 0xAF], 20),                // overlong '/'
        ([0xED, 0xA0, 0x80], 20),          // a UTF-16 surrogate
        ([0xE4, 0xBD], 20),                // truncated 你 (then '<')
        ([0xF4, 0x90, 0x80, 0x80], 20),    // above U+10FFFF
        ([0xFF], 20),
        ([0x41, 0x80], 21),                // a lone continuation byte
    ] as [([UInt8], Int)])
    func invalidUTF8(bad: [UInt8], offset: Int) {
        let prefix = utf8("<xml><Content>123456")  // 20 bytes
        let body = prefix + bad + utf8("</Content></xml>")
        #expect(throws: WeChatError.invalidUTF8(offset: offset)) { try reader.parse(body) }
    }

    @Test("valid multi-byte text, emoji and character references are read exactly")
    func validText() throws {
        let tree = try reader.parse("<xml><a><![CDATA[你好😀]]></a><b>&lt;&#x4F60;&#22909;&amp;&quot;&apos;&gt;</b><c>x<![CDATA[<y>]]>z</c></xml>")
        #expect(tree.text(of: "a") == "你好😀")
        #expect(tree.text(of: "b") == "<你好&\"'>")
        #expect(tree.text(of: "c") == "x<y>z")
    }

    @Test("line endings are normalised; other whitespace is kept as sent")
    func newlines() throws {
        let tree = try reader.parse("<xml><a><![CDATA[1\r\n2\r3\n]]></a><b> x\r\ny </b></xml>")
        #expect(tree.text(of: "a") == "1\n2\n3\n")
        #expect(tree.text(of: "b") == " x\ny ")
    }

    @Test("nesting is capped")
    func depth() throws {
        let deep = String(repeating: "<a>", count: 20) + String(repeating: "</a>", count: 20)
        #expect(throws: WeChatError.nestingTooDeep(limit: 16)) { try reader.parse(deep) }
        let ok = String(repeating: "<a>", count: 16) + String(repeating: "</a>", count: 16)
        #expect(try reader.parse(ok).name == "a")
    }

    @Test("malformed documents name what is wrong", arguments: [
        ("<xml><a>1</b></xml>", "expected </a> but found </b>"),
        ("<xml><a>1</a>", "<xml> is never closed"),
        ("<xml><a><![CDATA[1</a></xml>", "unterminated CDATA section in <a>"),
        ("", "no root element"),
        ("hello<xml/>", "text before the root element"),
        ("<xml/><xml/>", "content after the root element"),
        ("<xml><a>1 & 2</a></xml>", "'&' must begin a reference such as &amp;"),
        ("<xml><a>&#0;</a></xml>", "invalid character reference '&#0;'"),
        ("<xml a=1/>", "attribute value must be quoted in <xml>"),
        ("<xml><!-- never closed </xml>", "unterminated comment"),
        ("<xml><!foo></xml>", "unexpected '<!' markup"),
    ])
    func malformed(xml: String, reason: String) {
        let error = #expect(throws: WeChatError.self) { try reader.parse(xml) }
        guard case .malformedXML(let actual, _)? = error else {
            Issue.record("expected malformedXML, got \(String(describing: error))")
            return
        }
        #expect(actual == reason)
    }

    @Test("comments and attributes are accepted and ignored")
    func commentsAndAttributes() throws {
        let tree = try reader.parse("<!-- c --><xml id='1' kind=\"x\"><!-- inner --><a>1</a><b/></xml><!-- after -->")
        #expect(tree.children.map(\.name) == ["a", "b"])
        #expect(tree.text(of: "b") == "")
    }

    @Test("each refusal has its own error and every message names the problem")
    func distinctErrors() {
        let errors: [WeChatError] = [
            .doctypeRefused(offset: 0), .entityRefused(name: "x", offset: 0), .processingInstructionRefused(target: "x", offset: 0),
            .bodyTooLarge(size: 2, limit: 1), .invalidUTF8(offset: 0), .nestingTooDeep(limit: 1), .malformedXML(reason: "r", offset: 0),
        ]
        let descriptions = Set(errors.map(\.description))
        #expect(descriptions.count == errors.count)
        #expect(WeChatError.doctypeRefused(offset: 3).description.contains("DOCTYPE"))
        #expect(WeChatError.invalidUTF8(offset: 3).description.contains("UTF-8"))
        #expect(WeChatError.bodyTooLarge(size: 9, limit: 5).description.contains("limit is 5"))
    }
}
