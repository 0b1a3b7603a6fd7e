import ArgumentParser
import Foundation
import KefuRules
import KefuStore
import KefuWeChatAPI

/// `kefu qr`: parametric QR codes. A customer who scans one follows with `subscribe: SCENE`, or, if
/// they already follow, sends `scan: SCENE` — the rules answer those (Rules/shop: store_beijing).
struct QRCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qr",
        abstract: "Make parametric QR codes (带参数二维码) whose scenes the subscribe: and scan: rules answer.",
        subcommands: [Create.self, List.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a QR code with a scene; prints its ticket, the image URL and the content URL.",
            discussion: """
                Temporary codes last --expires (at most 30d; default 30d); --permanent codes never expire (at most
                100 000 per account). A scene that is a number 1…100000 becomes scene_id, anything else scene_str.
                The code is recorded in the store, so `kefu lint --store` can tell which scenes have codes.
                  KEFU_APPID=wx… KEFU_APPSECRET_FILE=/run/secrets/appsecret kefu qr create --scene store_beijing --permanent
                """
        )
        @Option(help: "The scene: what the subscribe:/scan: rule names (1–64 characters, or a number).") var scene: String
        @Option(help: "How long a temporary code lasts: 30d (the most), 7d, 12h …") var expires: String?
        @Flag(help: "A permanent code.") var permanent = false
        @OptionGroup var api: APIOptions

        func validate() throws {
            if permanent, expires != nil { throw ValidationError("--permanent codes do not expire: give --expires or --permanent, not both.") }
            if let expires {
                guard let seconds = DurationText.seconds(expires), seconds > 0 else { throw ValidationError("--expires \(expires): a duration such as 30d, 7d or 12h.") }
                guard seconds <= 2_592_000 else { throw ValidationError("--expires \(expires): WeChat keeps a temporary code at most 30 days (30d); use --permanent for longer.") }
            }
            guard (1...64).contains(scene.count) else { throw ValidationError("--scene: 1–64 characters (this one has \(scene.count)).") }
        }

        func run() async throws {
            let (client, store) = try await api.client()
            let expiresIn = permanent ? nil : Int(expires.flatMap(DurationText.seconds) ?? 2_592_000)
            let qrScene: QRScene = if let id = UInt32(scene), id > 0, id <= 100_000 { .id(id) } else { .string(scene) }
            do {
                let code = try await client.createQRCode(scene: qrScene, expiresIn: expiresIn)
                let now = Int64(Date().timeIntervalSince1970)
                try store?.recordQRCode(scene: scene, ticket: code.ticket, url: code.url, expiresAt: code.expireSeconds.map { now + $0 }, at: now)
                print("scene:   \(scene) (\(permanent ? "permanent" : "expires in \(DurationText.describe(code.expireSeconds ?? 0))"))")
                print("ticket:  \(code.ticket)")
                print("image:   \(code.imageURL)")
                print("content: \(code.url)")
                print("Rules answer it with when: {subscribe: \(scene)} (a new follower) and when: {scan: \(scene)} (a follower).")
            } catch let error as WeChatAPIError {
                throw APIOptions.failure(error)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The QR codes made with kefu qr create, from the store.")
        @Option(help: "The store: sqlite:PATH.") var store = "sqlite:kefu-data/kefu.sqlite"

        func run() async throws {
            guard store.hasPrefix("sqlite:") else { throw ValidationError("--store \(store): the codes are recorded in a sqlite:PATH store.") }
            let sqlite = try SQLiteStore(path: String(store.dropFirst("sqlite:".count)), exclusive: false)
            let now = Int64(Date().timeIntervalSince1970)
            let codes = try sqlite.qrCodes()
            if codes.isEmpty { print("no QR codes recorded in \(store)") }
            for code in codes {
                let life = code.expiresAt.map { $0 > now ? "expires in \(DurationText.describe($0 - now))" : "expired" } ?? "permanent"
                print("\(code.scene)\t\(life)\t\(code.url)")
            }
        }
    }
}
