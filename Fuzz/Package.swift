// swift-tools-version:6.1
// Kefu's fuzz targets (libFuzzer + AddressSanitizer), kept out of the normal build.
// Build and run them with `scripts/fuzz` from the repository root; see Fuzz/README.md.
import Foundation
import PackageDescription

// A path dependency's identity is the name of its folder, which is whatever the checkout is called
// (main, a worktree, a CI clone), so it is read here rather than written down.
let kefu = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(name: name, dependencies: ["FuzzSupport"] + dependencies)
}

let package = Package(
    name: "KefuFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        // What the targets share: the fixed account, signing, the reused temporary folder.
        .target(
            name: "FuzzSupport",
            dependencies: [
                .product(name: "KefuWeChat", package: kefu),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ]
        ),
        fuzzTarget("FuzzXML", [.product(name: "KefuWeChat", package: kefu)]),
        fuzzTarget("FuzzEnvelope", [.product(name: "KefuWeChat", package: kefu)]),
        fuzzTarget("FuzzSecure", [.product(name: "KefuWeChat", package: kefu)]),
        fuzzTarget("FuzzRules", [.product(name: "KefuRules", package: kefu)]),
        fuzzTarget("FuzzCases", [.product(name: "KefuCorpus", package: kefu), .product(name: "KefuRules", package: kefu)]),
    ],
    swiftLanguageModes: [.v6]
)
