import KefuWeChatAPI
import Testing

@Test func defaultBaseURLIsWeChats() {
    #expect(WeChatAPI.defaultBaseURL == "https://api.weixin.qq.com")
}
