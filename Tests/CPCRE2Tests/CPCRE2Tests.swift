import CPCRE2
import Testing

/// The system PCRE2 links, and is built with UTF and Unicode properties, which the rules compiler relies on.
@Suite("CPCRE2")
struct CPCRE2Tests {
    @Test("a Chinese pattern compiles with UTF+UCP, JIT-compiles, and reports its capture by byte offsets")
    func chineseCapture() throws {
        let pattern = Array(#"订阅\s*(\p{Han}+)"#.utf8)
        var errorCode: Int32 = 0
        var errorOffset = 0
        let code = try #require(pcre2_compile_8(pattern, pattern.count, UInt32(PCRE2_UTF | PCRE2_UCP), &errorCode, &errorOffset, nil))
        defer { pcre2_code_free_8(code) }
        #expect(pcre2_jit_compile_8(code, UInt32(PCRE2_JIT_COMPLETE)) == 0)
        let subject = Array("请帮我订阅每日新闻吧".utf8)
        let data = try #require(pcre2_match_data_create_from_pattern_8(code, nil))
        defer { pcre2_match_data_free_8(data) }
        #expect(pcre2_match_8(code, subject, subject.count, 0, 0, data, nil) == 2)
        let ovector = try #require(pcre2_get_ovector_pointer_8(data))
        #expect(ovector[0] == 9 && ovector[1] == 30)
        #expect(String(decoding: subject[ovector[2]..<ovector[3]], as: UTF8.self) == "每日新闻吧")
    }

    @Test("a bad pattern reports PCRE2's message and offset")
    func badPattern() {
        let pattern = Array("(abc".utf8)
        var errorCode: Int32 = 0
        var errorOffset = 0
        let code = pcre2_compile_8(pattern, pattern.count, UInt32(PCRE2_UTF), &errorCode, &errorOffset, nil)
        #expect(code == nil)
        #expect(errorOffset == 4)
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = pcre2_get_error_message_8(errorCode, &buffer, buffer.count)
        #expect(String(decoding: buffer.prefix(Int(max(length, 0))), as: UTF8.self) == "missing closing parenthesis")
    }
}
