import KefuConsole
import Testing

@Suite("Masking personal data for viewers")
struct MaskingTests {
    @Test("an openid keeps its first and last four characters: enough to tell users apart, not to send to")
    func openid() {
        #expect(Mask.openid("oX3fAbCdEfGhIjKlMnOpQrStk9Qa") == "oX3f…k9Qa")
        #expect(Mask.openid("oX3fAbCdEfGhIjKlMnOpQrStk9Qa") != Mask.openid("oX3fAbCdEfGhIjKlMnOpQrStk9Qb"))
        #expect(Mask.openid("short1") == "s…1")
        #expect(Mask.openid("ab") == "…")
        #expect(!Mask.openid("oX3fAbCdEfGhIjKlMnOpQrStk9Qa").contains("AbCd"))
    }

    @Test("mainland mobile numbers, written together or in groups, become 138****5678")
    func mobiles() {
        #expect(Mask.phoneNumbers(in: "我的电话13812345678，谢谢") == "我的电话138****5678，谢谢")
        #expect(Mask.phoneNumbers(in: "138 1234 5678") == "138****5678")
        #expect(Mask.phoneNumbers(in: "138-1234-5678 或 19987654321") == "138****5678 或 199****4321")
        #expect(Mask.phoneNumbers(in: "+86 13812345678") == "+86 138****5678")
        #expect(Mask.phoneNumbers(in: "电话:15900001111") == "电话:159****1111")
    }

    @Test("order numbers, short numbers and 12… prefixes are left alone")
    func notPhones() {
        #expect(Mask.phoneNumbers(in: "订单 DD202406110001") == "订单 DD202406110001")
        #expect(Mask.phoneNumbers(in: "20241381234567890") == "20241381234567890")
        #expect(Mask.phoneNumbers(in: "12345678901") == "12345678901")
        #expect(Mask.phoneNumbers(in: "1381234567") == "1381234567")
        #expect(Mask.phoneNumbers(in: "满 99 元包邮") == "满 99 元包邮")
    }
}
