// sample-backend: a FAKE company backend (shop ERP and after-sales, clinic HIS) that Kefu's sample
// rule sets call, for `make run` and the tests. Not a real system. Docs: docs/sample-backend.md.
import Foundation
import Hummingbird
import Logging

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("sample-backend: error: \(message)\n".utf8))
    exit(2)
}

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.contains("--help") || arguments.contains("-h") {
    print(Options.usage)
    exit(0)
}
let options: Options
do { options = try Options(arguments: arguments) } catch { fail("\(error)\n\(Options.usage)") }

let key: SigningKey?
let token: String?
do {
    key = try options.signingKey()
    token = try Options.secret("SAMPLE_BACKEND_TOKEN")
} catch {
    fail("\(error)")
}
if key == nil, options.verify {
    fail("""
        no signing key: set SAMPLE_BACKEND_SIGNING_KEY (or --signing-key-file PATH) to the key Kefu signs with \
        (whsec_<base64> or text), or pass --no-verify to accept unsigned requests (a demo only)
        """)
}

LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .warning
    return handler
}

var banner = """
    sample-backend: a FAKE company backend for demos and tests (shop orders, after-sales tickets, clinic \
    appointments). Every order, ticket and booking here is made up; nothing reaches a real system.
    sample-backend: signatures \(options.verify ? "verified (401 otherwise)" : "NOT ENFORCED"); bearer token \
    \(token == nil ? "not required" : "required"); control API /_sample/ \(options.controls ? "on" : "off").

    """
if !options.verify {
    banner += """
        sample-backend: WARNING: --no-verify: unsigned and wrongly signed requests are ACCEPTED. \
        Anyone who can reach this port can create tickets and bookings. Use it only for a local demo.

        """
}
FileHandle.standardError.write(Data(banner.utf8))

let routes = Routes(backend: Backend(), verifier: key.map { Verifier(key: $0.key) }, enforce: options.verify, token: token,
                    controls: options.controls, logRequests: options.logRequests)
let host = options.host
let app = Application(
    responder: routes,
    configuration: .init(address: .hostname(host, port: options.port), serverName: "sample-backend"),
    onServerRunning: { channel in
        // One write, unbuffered: tests and scripts read this line to learn the port.
        FileHandle.standardOutput.write(Data("sample-backend: FAKE DATA, not a real system; listening on http://\(host):\(channel.localAddress?.port ?? 0)\n".utf8))
    },
    logger: Logger(label: "sample-backend"))
do {
    try await app.runService()
} catch {
    fail("\(error)")
}
