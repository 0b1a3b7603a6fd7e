// swift-tools-version:6.1
// Kefu: a rule-driven customer-service bot for WeChat Official Accounts.
// Targets are layered as in docs/ARCHITECTURE.md; dependencies point one way.
import PackageDescription

let package = Package(
    name: "Kefu",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kefu", targets: ["kefu"]),
        .library(name: "KefuWeChat", targets: ["KefuWeChat"]),
        .library(name: "KefuRules", targets: ["KefuRules"]),
        .library(name: "KefuCorpus", targets: ["KefuCorpus"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // libpcre2-8 from the system (apt: libpcre2-dev). The shim defines the code-unit width.
        .systemLibrary(
            name: "CPCRE2",
            pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"])]
        ),
        // The WeChat Official Account protocol: message model, XML, signatures, secure mode.
        // No rules, no HTTP.
        .target(
            name: "KefuWeChat",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        // WeChat's server API, outbound: the shared access token, customer-service, template and
        // subscribe messages, menus, media, QR codes; typed errors. Protocol only: no rules, no HTTP server.
        .target(
            name: "KefuWeChatAPI",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Rule files, the normalizer, the compiler and its compiled form, lint and explain.
        // No WeChat XML, no HTTP.
        .target(
            name: "KefuRules",
            dependencies: [
                "CPCRE2",
                .product(name: "Yams", package: "Yams"),
            ],
            exclude: [
                "Normalize/OpenCC-LICENSE.txt",
                "Normalize/NOTICE-OpenCC.md",
                "Automaton/README.md",
            ]
        ),
        // The engine: a push in, its passive reply out; flows, sessions, the store protocol.
        .target(
            name: "KefuDialogue",
            dependencies: ["KefuRules", "KefuWeChat", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Calls to the company's own systems (`services:` / `call:`): signed HTTP requests with
        // auth by secret name, one try at a time (the outbox and the engine decide about retries).
        .target(
            name: "KefuActions",
            dependencies: [
                "KefuRules", "KefuDialogue",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Durable stores: SQLite (embedded default) for answered messages, sessions and the conversation log.
        .target(
            name: "KefuStore",
            dependencies: [
                "KefuDialogue", "KefuWeChat", "KefuWeChatAPI",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // The shared store for many `kefu serve` processes: PostgreSQL over postgres-nio (`--store postgres://…`).
        .target(
            name: "KefuPostgres",
            dependencies: [
                "KefuDialogue", "KefuWeChat", "KefuWeChatAPI",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // What the conversation log says: day totals, rule hits, flow funnels, unanswered messages grouped
        // by similarity (the console's pages and `kefu report`). No HTTP, no HTML.
        .target(
            name: "KefuAnalytics",
            dependencies: ["KefuDialogue", "KefuRules"]
        ),
        // The support leads' console on the admin listener: sign-in, sessions, CSRF, the pages (server-rendered
        // HTML, Chart.js from the system), and the self-contained HTML of `kefu report`.
        .target(
            name: "KefuConsole",
            dependencies: [
                "KefuAnalytics", "KefuCorpus", "KefuDialogue", "KefuRules", "KefuWeChat",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Conversation tests: case files, the runner, coverage and the comparison of two rule sets (`kefu test`).
        .target(
            name: "KefuCorpus",
            dependencies: ["KefuDialogue", "KefuRules", "KefuWeChat", .product(name: "Yams", package: "Yams")]
        ),
        // `kefu serve`: the webhook on Hummingbird, de-duplication, deadlines, reload, metrics.
        .target(
            name: "KefuServer",
            dependencies: [
                "KefuCorpus", "KefuDialogue", "KefuRules", "KefuWeChat", "KefuStore", "KefuPostgres", "KefuWeChatAPI", "KefuActions",
                "KefuAnalytics", "KefuConsole",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "kefu",
            dependencies: [
                "KefuCorpus",
                "KefuWeChat",
                "KefuRules",
                "KefuServer",
                "KefuStore",
                "KefuWeChatAPI",
                "KefuActions",
                "KefuAnalytics",
                "KefuConsole",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // On-demand measurements (never part of `make test`): `make bench-wechat`.
        .executableTarget(
            name: "WeChatBench",
            dependencies: ["KefuWeChat"],
            path: "Benchmarks/WeChatBench"
        ),
        // Kefu's side of the benchmark table (issue 7): `scripts/bench`, or `swift run -c release KefuBench`.
        .executableTarget(
            name: "KefuBench",
            dependencies: ["KefuDialogue", "KefuRules", "KefuWeChat"],
            path: "Benchmarks/KefuBench"
        ),
        // Keyword scan and rule matching on ../shared/bench-data: `swift run -c release RulesBench`.
        .executableTarget(
            name: "RulesBench",
            dependencies: ["KefuRules"],
            path: "Benchmarks/RulesBench"
        ),
        // A realistic conversation log (the corpus's conversations through the engine, over days) for the
        // console's tests and benchmarks: `swift run kefu-loggen --store sqlite:PATH --turns N`.
        .executableTarget(
            name: "kefu-loggen",
            dependencies: ["KefuCorpus", "KefuDialogue", "KefuRules", "KefuStore", "KefuPostgres"],
            path: "Benchmarks/LogGen",
            exclude: ["unanswered-shop.txt"]
        ),
        // Intent accuracy by cross-validation against a scikit-learn baseline: `make eval-intents`.
        .executableTarget(
            name: "IntentEval",
            dependencies: ["KefuRules"],
            path: "Benchmarks/IntentEval"
        ),
        // A stand-in for WeChat's API server, for tests and demos (it is NOT WeChat): token authority,
        // windows and quotas, validation with the real errcodes, fault injection, pushes back to the webhook.
        // The JSON value the two test servers below speak (raw UTF-8 out, as WeChat wants).
        .target(
            name: "ServerJSON",
            path: "Tests/ServerJSON"
        ),
        .executableTarget(
            name: "wechat-standin",
            dependencies: [
                "KefuWeChat", "ServerJSON",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/WeChatStandIn"
        ),
        // A sample company backend with FAKE data (orders, after-sales tickets, clinic appointments) for
        // `make run` and the tests: verifies Kefu's signatures, honours idempotency keys, injects faults.
        .executableTarget(
            name: "sample-backend",
            dependencies: [
                "ServerJSON",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/SampleBackend"
        ),
        // Shared by the test targets that run real programs (kefu, the Python peers, curl).
        .target(
            name: "KefuTestSupport",
            path: "Tests/KefuTestSupport"
        ),
        .testTarget(
            name: "KefuWeChatTests",
            dependencies: [
                "KefuWeChat", "KefuTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "KefuCorpusTests",
            dependencies: ["KefuCorpus", "KefuDialogue", "KefuRules", "KefuTestSupport"]
        ),
        .testTarget(
            name: "KefuStoreTests",
            dependencies: ["KefuStore", "KefuPostgres", "KefuTestSupport", "KefuDialogue", "KefuRules", "KefuWeChat",
                           .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // The store contract on a real PostgreSQL server (a throwaway cluster on loopback, KefuTestSupport.PostgresCluster).
        .testTarget(
            name: "KefuPostgresTests",
            dependencies: ["KefuPostgres", "KefuStore", "KefuDialogue", "KefuRules", "KefuWeChat", "KefuWeChatAPI", "KefuTestSupport",
                           .product(name: "PostgresNIO", package: "postgres-nio")]
        ),
        .testTarget(
            name: "KefuDialogueTests",
            dependencies: ["KefuDialogue"]
        ),
        .testTarget(
            name: "KefuRulesTests",
            dependencies: ["KefuRules", "KefuTestSupport"]
        ),
        // `kefu serve` over real HTTP, driven by wechatpy (Tests/Interop/wechatpy_http_client.py).
        .testTarget(
            name: "KefuServerTests",
            dependencies: ["kefu", "KefuServer", "KefuTestSupport", "KefuStore", "wechat-standin", "sample-backend", "kefu-loggen",
                           .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Runs the built `kefu` binary as a user would.
        .testTarget(
            name: "KefuCLITests",
            dependencies: ["kefu", "KefuTestSupport", "wechat-standin", "sample-backend"]
        ),
        // The API client against the stand-in over real HTTP on loopback.
        .testTarget(
            name: "KefuWeChatAPITests",
            dependencies: ["KefuWeChatAPI", "wechat-standin", "KefuTestSupport", "KefuStore", "kefu"]
        ),
        // Service calls over real HTTP on loopback: signing (checked by Python's hmac), auth, timeouts, the sample backend.
        .testTarget(
            name: "KefuActionsTests",
            dependencies: ["KefuActions", "KefuRules", "KefuDialogue", "KefuTestSupport", "sample-backend"]
        ),
        // The analytics over logged turns (day totals, funnels, unanswered groups) on plain values.
        .testTarget(
            name: "KefuAnalyticsTests",
            dependencies: ["KefuAnalytics", "KefuDialogue", "KefuRules", "KefuTestSupport"]
        ),
        // The console's parts without a browser: password hashes, sessions, CSRF, the sign-in limit, masking.
        .testTarget(
            name: "KefuConsoleTests",
            dependencies: ["KefuConsole", "KefuAnalytics", "KefuDialogue", "KefuTestSupport"]
        ),
        .testTarget(
            name: "CPCRE2Tests",
            dependencies: ["CPCRE2"]
        ),
        // The stand-in WeChat itself, over real HTTP on loopback (tokens, windows, validation, faults, pushes).
        .testTarget(
            name: "WeChatStandInTests",
            dependencies: ["wechat-standin", "KefuTestSupport", "KefuWeChat"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
