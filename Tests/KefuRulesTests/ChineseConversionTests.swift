import Testing
@testable import KefuRules

@Suite("ChineseConversion (OpenCC TSCharacters)")
struct ChineseConversionTests {
    private func scalar(_ s: Unicode.Scalar) -> UInt32 { s.value }

    @Test("common traditional characters become simplified", arguments: [
        ("這", "这"), ("國", "国"), ("們", "们"), ("號", "号"), ("貨", "货"),
        ("發", "发"), ("後", "后"), ("臺", "台"),
    ] as [(Unicode.Scalar, Unicode.Scalar)])
    func converts(traditional: Unicode.Scalar, simplified: Unicode.Scalar) {
        #expect(ChineseConversion.simplified(traditional.value) == simplified.value)
    }

    @Test("one-to-many characters take OpenCC's first candidate")
    func firstCandidate() {
        #expect(ChineseConversion.simplified(scalar("乾")) == scalar("干"))
        #expect(ChineseConversion.simplified(scalar("幹")) == scalar("干"))
        #expect(ChineseConversion.simplified(scalar("髮")) == scalar("发"))
    }

    @Test("characters outside the BMP are looked up too")
    func supplementaryPlane() {
        // 𠁞 U+2005E → 𠀾 U+2003E in TSCharacters.txt.
        #expect(ChineseConversion.simplified(0x2005E) == 0x2003E)
    }

    @Test("characters shared by both scripts, simplified ones and non-CJK stay nil")
    func unchanged() {
        #expect(ChineseConversion.simplified(scalar("退")) == nil)
        #expect(ChineseConversion.simplified(scalar("这")) == nil)
        #expect(ChineseConversion.simplified(scalar("干")) == nil)
        for ascii in UInt32(0)...0x7F {
            #expect(ChineseConversion.simplified(ascii) == nil)
        }
        #expect(ChineseConversion.simplified(0x10FFFF) == nil)
        #expect(ChineseConversion.simplified(UInt32.max) == nil)
    }

    @Test("table keys are strictly ascending and every entry changes the character")
    func tableShape() {
        let keys = ChineseConversion.traditionalKeys
        let values = ChineseConversion.simplifiedValues
        #expect(keys.count == values.count)
        #expect(zip(keys, keys.dropFirst()).allSatisfy { $0 < $1 })
        #expect(zip(keys, values).allSatisfy { $0 != $1 })
        #expect((keys + values).allSatisfy { Unicode.Scalar($0) != nil })
    }

    @Test("every key is found by the lookup")
    func everyKeyFound() {
        let keys = ChineseConversion.traditionalKeys
        let values = ChineseConversion.simplifiedValues
        for (key, value) in zip(keys, values) {
            #expect(ChineseConversion.simplified(key) == value)
        }
    }

    @Test("entry count is plausible")
    func entryCount() {
        let count = ChineseConversion.traditionalKeys.count
        print("ChineseConversion: \(count) entries")
        #expect((2_500...5_000).contains(count))
    }
}
