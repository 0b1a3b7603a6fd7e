// swift-tools-version:6.1
// Kefu: a rule-driven customer-service bot for WeChat Official Accounts.
// Targets are layered as in docs/ARCHITECTURE.md; dependencies point one way.
import PackageDescription

let package = Package(
    name: "Kefu",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "kefu", targets: ["kefu"]),
        .library(name: "KefuWeChat", targets: ["KefuWeChat"]),
        .library(name: "KefuRules", targets: ["KefuRules"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
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
        .executableTarget(
            name: "kefu",
            dependencies: [
                "KefuWeChat",
                "KefuRules",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // On-demand measurements (never part of `make test`): `make bench-wechat`.
        .executableTarget(
            name: "WeChatBench",
            dependencies: ["KefuWeChat"],
            path: "Benchmarks/WeChatBench"
        ),
        // Keyword scan and rule matching on ../shared/bench-data: `swift run -c release RulesBench`.
        .executableTarget(
            name: "RulesBench",
            dependencies: ["KefuRules"],
            path: "Benchmarks/RulesBench"
        ),
        // Intent accuracy by cross-validation against a scikit-learn baseline: `make eval-intents`.
        .executableTarget(
            name: "IntentEval",
            dependencies: ["KefuRules"],
            path: "Benchmarks/IntentEval"
        ),
        .testTarget(
            name: "KefuWeChatTests",
            dependencies: [
                "KefuWeChat",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "KefuRulesTests",
            dependencies: ["KefuRules"]
        ),
        // Runs the built `kefu` binary as a user would.
        .testTarget(
            name: "KefuCLITests",
            dependencies: ["kefu"]
        ),
        .testTarget(
            name: "CPCRE2Tests",
            dependencies: ["CPCRE2"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
