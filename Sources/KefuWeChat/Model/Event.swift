extension InboundMessage {
    /// An event push (`MsgType` = `event`), by its exact `Event` value.
    public enum Event: Sendable, Equatable {
        /// A follow. `scene` is set when the user followed by scanning a parametric QR code
        /// (`EventKey` = `qrscene_` + scene; the prefix is removed here), with its `Ticket`.
        case subscribe(scene: String?, ticket: String?)
        case unsubscribe
        /// A user who already follows scanned a parametric QR code (`SCAN`).
        case scan(scene: String, ticket: String?)
        /// The periodic location report (`LOCATION`).
        case location(latitude: Double, longitude: Double, precision: Double)
        /// A menu "click" button (`CLICK`) with its key.
        case click(key: String)
        /// A menu link button (`VIEW`).
        case view(url: String, menuId: Int64?)
        case scancodePush(key: String, scan: ScanCodeInfo)
        case scancodeWaitMsg(key: String, scan: ScanCodeInfo)
        case picSysPhoto(key: String, pictures: SendPicsInfo)
        case picPhotoOrAlbum(key: String, pictures: SendPicsInfo)
        case picWeixin(key: String, pictures: SendPicsInfo)
        case locationSelect(key: String, location: SendLocationInfo)
        case viewMiniprogram(pagePath: String, menuId: Int64?)
        /// `TEMPLATESENDJOBFINISH`; the job's `MsgID` is ``InboundMessage/msgId``.
        case templateSendJobFinish(status: String)
        /// `MASSSENDJOBFINISH`; the job's `MsgID` is ``InboundMessage/msgId``.
        case massSendJobFinish(MassSendResult)
        case kfCreateSession(kfAccount: String)
        case kfCloseSession(kfAccount: String)
        case kfSwitchSession(from: String, to: String)
        /// An `Event` this model does not know; its fields stay in ``InboundMessage/fields``.
        case unknown(name: String, eventKey: String?)

        /// The `Event` value exactly as WeChat spells it.
        public var name: String {
            switch self {
            case .subscribe: "subscribe"
            case .unsubscribe: "unsubscribe"
            case .scan: "SCAN"
            case .location: "LOCATION"
            case .click: "CLICK"
            case .view: "VIEW"
            case .scancodePush: "scancode_push"
            case .scancodeWaitMsg: "scancode_waitmsg"
            case .picSysPhoto: "pic_sysphoto"
            case .picPhotoOrAlbum: "pic_photo_or_album"
            case .picWeixin: "pic_weixin"
            case .locationSelect: "location_select"
            case .viewMiniprogram: "view_miniprogram"
            case .templateSendJobFinish: "TEMPLATESENDJOBFINISH"
            case .massSendJobFinish: "MASSSENDJOBFINISH"
            case .kfCreateSession: "kf_create_session"
            case .kfCloseSession: "kf_close_session"
            case .kfSwitchSession: "kf_switch_session"
            case .unknown(let name, _): name
            }
        }

        /// Whether WeChat shows a passive reply to this event. For these it never does, so the
        /// contract answers `success`: unsubscribe, location reports, job results, kf_* and unknown events.
        public var acceptsReply: Bool {
            switch self {
            case .unsubscribe, .location, .templateSendJobFinish, .massSendJobFinish,
                 .kfCreateSession, .kfCloseSession, .kfSwitchSession, .unknown:
                false
            default:
                true
            }
        }
    }

    /// `ScanCodeInfo` of the scancode_* menu events.
    public struct ScanCodeInfo: Sendable, Equatable {
        /// `qrcode`, `barcode`, …
        public var scanType: String
        public var scanResult: String
        public init(scanType: String, scanResult: String) { self.scanType = scanType; self.scanResult = scanResult }
    }

    /// `SendPicsInfo` of the pic_* menu events. The pictures themselves arrive as separate image messages.
    public struct SendPicsInfo: Sendable, Equatable {
        public var count: Int
        public var md5Sums: [String]
        public init(count: Int, md5Sums: [String]) { self.count = count; self.md5Sums = md5Sums }
    }

    /// `SendLocationInfo` of the location_select menu event.
    public struct SendLocationInfo: Sendable, Equatable {
        public var latitude: Double
        public var longitude: Double
        public var scale: Int
        public var label: String
        public var poiName: String
        public init(latitude: Double, longitude: Double, scale: Int, label: String, poiName: String) {
            self.latitude = latitude; self.longitude = longitude; self.scale = scale; self.label = label; self.poiName = poiName
        }
    }

    /// The result of a broadcast (`MASSSENDJOBFINISH`).
    public struct MassSendResult: Sendable, Equatable {
        public struct ArticleURL: Sendable, Equatable {
            public var index: Int
            public var url: String
            public init(index: Int, url: String) { self.index = index; self.url = url }
        }
        /// `send success`, `send fail`, `err(30003)`, …
        public var status: String
        public var totalCount: Int
        public var filterCount: Int
        public var sentCount: Int
        public var errorCount: Int
        /// `CopyrightCheckResult/CheckState`, when present.
        public var copyrightCheckState: Int?
        public var articleURLs: [ArticleURL]
        public init(status: String, totalCount: Int, filterCount: Int, sentCount: Int, errorCount: Int,
                    copyrightCheckState: Int?, articleURLs: [ArticleURL]) {
            self.status = status; self.totalCount = totalCount; self.filterCount = filterCount
            self.sentCount = sentCount; self.errorCount = errorCount
            self.copyrightCheckState = copyrightCheckState; self.articleURLs = articleURLs
        }
    }
}
