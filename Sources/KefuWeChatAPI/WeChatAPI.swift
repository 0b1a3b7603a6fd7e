/// WeChat's server API (outbound). See docs/wechat-api.md.
public enum WeChatAPI {
    /// WeChat's own API host; `kefu serve --wechat-api URL` points elsewhere (the stand-in).
    public static let defaultBaseURL = "https://api.weixin.qq.com"
    /// Where a QR ticket is exchanged for its image.
    public static let defaultQRImageBaseURL = "https://mp.weixin.qq.com/cgi-bin/showqrcode"
}
