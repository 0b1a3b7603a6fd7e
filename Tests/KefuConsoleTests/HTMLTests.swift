import KefuConsole
import Testing

@Suite("HTML pieces")
struct HTMLTests {
    @Test("escaping covers what can break out of content and quoted attributes")
    func escaping() {
        #expect(HTML.escape(#"<script>"a" & 'b'</script>"#) == "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;")
        #expect(HTML.escape("退货 😀") == "退货 😀")
        #expect(HTML.urlEncode("a b/退") == "a%20b%2F%E9%80%80")
        #expect(HTML.csrfField("x\"y") == #"<input type="hidden" name="csrf" value="x&quot;y">"#)
    }
}
