import KefuWeChatAPI
import Testing

@Test("the AppSecret never shows in a description, a debug description or a reflection")
func appSecretIsRedacted() {
    let secret = AppSecret("s3cr3t-value-0123456789")
    let configuration = WeChatAPIConfiguration(appID: "wx0000", secret: secret)
    for text in [String(describing: secret), String(reflecting: secret), "\(configuration)", String(reflecting: configuration)] {
        #expect(!text.contains("s3cr3t"))
    }
}
