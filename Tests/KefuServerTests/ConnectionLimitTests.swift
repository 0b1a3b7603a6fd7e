import Foundation
#if canImport(Glibc)
import Glibc
#endif
import KefuTestSupport
import Testing

/// Timeouts and the connection limit of `kefu serve` (issue 11), from raw sockets on loopback against
/// a real process: what a slow, silent or abandoned client meets.
@Suite("kefu serve: timeouts and connection limits", .serialized)
struct ConnectionLimitTests {
    static let shop = TestSupport.root.appendingPathComponent("Rules/shop").path

    /// `kefu serve` on a free port with a memory store; its log is read as it comes.
    final class Server {
        let process = Process()
        private(set) var port = 0
        private(set) var adminPort = 0
        private let buffer = LogBuffer()

        /// `shell`, if given, runs before `exec kefu serve …` in /bin/sh (e.g. `ulimit -n 200`).
        init(_ arguments: [String], shell: String? = nil) throws {
            let serve = ["serve", "--rules", ConnectionLimitTests.shop, "--port", "0", "--store", "memory", "--mode", "compatible"]
                + TestSupport.adminArguments + arguments
            if let shell {
                process.executableURL = URL(fileURLWithPath: "/bin/sh")
                process.arguments = ["-c", "\(shell); exec \"$0\" \"$@\"", TestSupport.kefu.path] + serve
            } else {
                process.executableURL = TestSupport.kefu
                process.arguments = serve
            }
            process.environment = ServeTests.secrets.merging(["PATH": "/usr/bin:/bin", "KEFU_ADMIN_TOKEN": TestSupport.adminToken]) { $1 }
            let pipe = Pipe()
            process.standardError = pipe
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            buffer.read(pipe.fileHandleForReading)
            let found = ConnectionLimitTests.waitFor(20) { () -> (Int, Int)? in
                guard let port = TestSupport.webhookPort(in: self.log), let admin = TestSupport.adminPort(in: self.log) else { return nil }
                return (port, admin)
            }
            guard let found else { throw ServeTests.Server.ServerError(log: log) }
            (port, adminPort) = found
        }

        /// The server's standard error, gathered by a thread as it comes (so the pipe never fills).
        final class LogBuffer: @unchecked Sendable {
            private let lock = NSLock()
            private var text = ""
            var value: String { lock.lock(); defer { lock.unlock() }; return text }
            func read(_ handle: FileHandle) {
                Thread.detachNewThread { [self] in
                    while true {
                        let data = handle.availableData
                        if data.isEmpty { break }
                        lock.lock(); text += String(decoding: data, as: UTF8.self); lock.unlock()
                    }
                }
            }
        }

        var log: String { buffer.value }
        var url: String { "http://127.0.0.1:\(port)/wechat" }

        /// From the admin listener (its connections are not the webhook's: not counted by these limits).
        func metrics() throws -> String { try TestSupport.get("http://127.0.0.1:\(adminPort)/metrics", bearer: TestSupport.adminToken) }
        func metric(_ line: String) throws -> Int? { ServeTests.metric(try metrics(), line) }

        func connect() throws -> RawConnection { try RawConnection(port: port) }

        func stop() -> Int32 {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
            return process.terminationStatus
        }

        deinit { if process.isRunning { process.terminate() } }
    }

    /// Calls `probe` until it gives a value or `seconds` pass.
    static func waitFor<T>(_ seconds: TimeInterval, every interval: TimeInterval = 0.05, _ probe: () throws -> T?) rethrows -> T? {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let value = try probe() { return value }
            if Date() >= deadline { return nil }
            Thread.sleep(forTimeInterval: interval)
        }
    }

    static func gauge(_ text: String, _ name: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last!) }
    }

    static func occurrences(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    @Test("a body shorter than its Content-Length: 408 with its reason at --body-timeout, then the connection is closed")
    func slowBody() throws {
        let server = try Server(["--body-timeout", "1", "--header-timeout", "5"])
        let connection = try server.connect()
        let start = Date()
        connection.send("POST /wechat?signature=x&timestamp=1&nonce=1 HTTP/1.1\r\nHost: kefu\r\nContent-Type: text/xml\r\nContent-Length: 100\r\n\r\n<xml>")
        let (answer, closed) = connection.readUntilClosed(timeout: 6)
        let elapsed = Date().timeIntervalSince(start)
        #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer)")
        #expect(answer.contains("the request body did not arrive within 1 s (5 of 100 bytes received)"), "\(answer)")
        #expect(closed, "the connection is closed after the 408")
        #expect(elapsed >= 0.9 && elapsed < 4, "answered at the body timeout, not before or long after: \(elapsed) s")
        #expect(try server.metric(#"kefu_connection_timeouts_total{phase="body"}"#) == 1)
        #expect(try server.metric(#"kefu_requests_total{mode="-",outcome="rejected-408"}"#) == 1)
        #expect(server.stop() == 0)
        #expect(server.log.contains("reason=the request body did not arrive within 1 s"), "logged with its reason:\n\(server.log)")
        #expect(!server.log.contains("status=413"), "a slow body is not a large one")
    }

    @Test("a head never completed: closed at --header-timeout (408 with its reason if part of a head came)")
    func slowHead() throws {
        let server = try Server(["--header-timeout", "1"])
        let silent = try server.connect()
        let partial = try server.connect()
        let start = Date()
        partial.send("GET /healthz HTTP/1.1\r\nHost: kefu\r\n")
        let (partialAnswer, partialClosed) = partial.readUntilClosed(timeout: 6)
        let (silentAnswer, silentClosed) = silent.readUntilClosed(timeout: 6)
        let elapsed = Date().timeIntervalSince(start)
        #expect(partialClosed && silentClosed)
        #expect(elapsed >= 0.9 && elapsed < 4, "closed at the header timeout: \(elapsed) s")
        #expect(partialAnswer.hasPrefix("HTTP/1.1 408") && partialAnswer.contains("the request head did not arrive within 1 s"), "\(partialAnswer)")
        #expect(silentAnswer.isEmpty, "a connection that sent nothing is closed without an answer: \(silentAnswer)")
        #expect(try server.metric(#"kefu_connection_timeouts_total{phase="header"}"#) == 2)
        #expect(server.stop() == 0)
    }

    @Test("an idle keep-alive connection is closed at idle-timeout (set in --config); one that keeps asking stays open")
    func idleKeepAlive() throws {
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-idle-\(UInt32.random(in: 0...UInt32.max)).yaml")
        try "idle-timeout: 1\nheader-timeout: 5\nmax-connections: 50\n".write(to: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: config) }
        let server = try Server(["--config", config.path])
        let idle = try server.connect()
        let busy = try server.connect()
        idle.send("GET /healthz HTTP/1.1\r\nHost: kefu\r\n\r\n")
        #expect(idle.read(until: "ok\n", timeout: 5).contains("200 OK"))
        let answered = Date()
        // The busy connection asks every 0.4 s for 2.4 s: longer than the idle timeout in all, never idle for it.
        var asked = 0
        while Date().timeIntervalSince(answered) < 2.4 {
            busy.send("GET /healthz HTTP/1.1\r\nHost: kefu\r\n\r\n")
            let reply = busy.read(until: "ok\n", timeout: 2)
            #expect(reply.contains("200 OK"), "request \(asked) on the kept-alive connection: \(reply)")
            asked += 1
            Thread.sleep(forTimeInterval: 0.4)
        }
        #expect(idle.isClosed(), "the idle connection was closed")
        #expect(!busy.isClosed(), "the connection that kept asking is still open")
        let (_, closed) = idle.readUntilClosed(timeout: 0.1)
        #expect(closed)
        #expect(try server.metric(#"kefu_connection_timeouts_total{phase="idle"}"#) == 1)
        #expect(server.stop() == 0)
    }

    @Test("a body the client abandons is logged as abandoned, never 413; an oversize body keeps 413 with its true size")
    func abandonedAndOversize() throws {
        let server = try Server(["--body-timeout", "5"])
        let abandoned = try server.connect()
        abandoned.send("POST /wechat?signature=x&timestamp=1&nonce=1 HTTP/1.1\r\nHost: kefu\r\nContent-Length: 100\r\n\r\n<xml>")
        abandoned.shutdownWrite()
        _ = abandoned.readUntilClosed(timeout: 5)
        let logged = Self.waitFor(5) { server.log.contains("request abandoned") ? true : nil }
        #expect(logged == true, "\(server.log)")
        #expect(server.log.contains("the client closed the connection before the request body was complete (5 of 100 bytes received)"), "\(server.log)")

        let declared = try server.connect()
        declared.send("POST /wechat HTTP/1.1\r\nHost: kefu\r\nContent-Length: 70000\r\n\r\n")
        let declaredAnswer = declared.read(until: "bytes\n", timeout: 5)
        #expect(declaredAnswer.hasPrefix("HTTP/1.1 413") && declaredAnswer.contains("body is 70000 bytes; the limit is 65536 bytes"), "\(declaredAnswer)")

        let chunked = try server.connect()
        chunked.send("POST /wechat HTTP/1.1\r\nHost: kefu\r\nTransfer-Encoding: chunked\r\n\r\n" + String(70000, radix: 16) + "\r\n" + String(repeating: "a", count: 70000) + "\r\n")
        let chunkedAnswer = chunked.read(until: "bytes\n", timeout: 5)
        #expect(chunkedAnswer.hasPrefix("HTTP/1.1 413") && chunkedAnswer.contains("body is larger than the limit of 65536 bytes"), "\(chunkedAnswer)")

        let malformed = try server.connect()
        malformed.send("POST /wechat HTTP/1.1\r\nHost: kefu\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n<xml>\r\nZZ\r\n")
        let malformedAnswer = malformed.readUntilClosed(timeout: 5).text
        #expect(malformedAnswer.hasPrefix("HTTP/1.1 400") && malformedAnswer.contains("the request body could not be read"), "a bad chunk is the client's error, not an abandoned body: \(malformedAnswer)")

        #expect(try server.metric(#"kefu_requests_total{mode="-",outcome="abandoned"}"#) == 1)
        #expect(try server.metric(#"kefu_requests_total{mode="-",outcome="rejected-413"}"#) == 2)
        #expect(server.stop() == 0)
        let abandonedLines = server.log.split(separator: "\n").filter { $0.contains("5 of 100 bytes") }
        #expect(abandonedLines.count == 1 && !abandonedLines[0].contains("status=413"), "\(abandonedLines)")
        #expect(!server.log.contains("65537"), "the old wrong reason")
    }

    @Test("idle connections beyond --max-connections: the longest-idle make room, counted, logged once; a signed POST is still answered")
    func idleBeyondLimit() throws {
        let server = try Server(["--max-connections", "20", "--header-timeout", "30", "--idle-timeout", "30"])
        var idle: [RawConnection] = []
        for _ in 0..<20 { idle.append(try server.connect()) }
        // The 20 fill the 20 places (the metrics requests go to the admin port): from here on they are the longest-idle.
        let filled = try Self.waitFor(5) { Self.gauge(try server.metrics(), "kefu_connections_open") == 20 ? true : nil }
        #expect(filled == true)
        for _ in 0..<6 { idle.append(try server.connect()) }
        func closed() -> [Int] { idle.indices.filter { idle[$0].isClosed() } }
        #expect(Self.waitFor(5) { closed().count == 6 ? true : nil } == true, "6 of 26 idle connections make room: \(closed()) closed")
        #expect(closed().allSatisfy { $0 < 20 }, "the longest-idle are the ones closed: \(closed())")

        let said = try ServeTests.client([server.url, "say", "运费多少"])
        #expect(said.status == 0 && said.output.contains("\"status\": 200") && said.output.contains("全场满 99 元包邮"), "\(said.output)")
        let metrics = try server.metrics()
        // The POST took the place of one more idle connection.
        let displaced = ServeTests.metric(metrics, "kefu_connections_displaced_total")
        #expect(displaced == 7, "\(metrics)")
        #expect(Self.waitFor(5) { closed().count == displaced ? true : nil } == true, "every displaced connection is one of ours: \(closed())")
        #expect(closed().allSatisfy { $0 < 20 }, "the newer idle connections are left alone: \(closed())")
        #expect(ServeTests.metric(metrics, "kefu_connections_refused_total") == nil, "no new connection was refused")
        // The 19 idle ones left, and the POST's unless it has closed by now.
        #expect((19...20).contains(Self.gauge(metrics, "kefu_connections_open") ?? 0), "\(metrics)")
        #expect(server.stop() == 0)
        #expect(Self.occurrences("connection limit reached", in: server.log) == 1, "one log line, not one per connection:\n\(server.log)")
        #expect(server.log.contains("raise --max-connections"))
    }

    @Test("every connection with a request in progress: a new one gets 503 at once and is counted; the busy ones get 408 at their body timeout")
    func busyAtLimit() throws {
        let server = try Server(["--max-connections", "5", "--body-timeout", "3", "--header-timeout", "30"])
        let head = "POST /wechat?signature=x&timestamp=1&nonce=1 HTTP/1.1\r\nHost: kefu\r\nContent-Length: 100\r\n\r\n"
        var busy: [RawConnection] = []
        for _ in 0..<5 {
            let c = try server.connect()
            c.send(head)
            busy.append(c)
        }
        var everyBusy = busy
        var refusedProbes = 0
        let answer = try Self.waitFor(10) { () -> String? in
            // A connection closed before the server read its head (it made room for a probe, or came back
            // while all places were taken) is opened again.
            for (i, c) in busy.enumerated() where c.isClosed() && !c.received.contains("408") {
                busy[i] = try server.connect()
                busy[i].send(head)
                everyBusy.append(busy[i])
            }
            let probe = try server.connect()
            let start = Date()
            probe.send("GET /healthz HTTP/1.1\r\nHost: kefu\r\nConnection: close\r\n\r\n")
            let (text, _) = probe.readUntilClosed(timeout: 2)
            guard text.hasPrefix("HTTP/1.1 503") else { return nil }
            refusedProbes += 1
            #expect(Date().timeIntervalSince(start) < 1, "refused at once")
            return text
        }
        #expect(answer?.contains("too many connections: all 5 have a request in progress; try again") == true, "\(answer ?? "no 503")")
        // Each busy connection ends with its 408 at the body timeout (or was itself refused or displaced on the way).
        var timedOut = 0, refusedBusy = 0
        for c in everyBusy {
            let (text, closed) = c.readUntilClosed(timeout: 6)
            #expect(closed)
            if text.hasPrefix("HTTP/1.1 408") {
                timedOut += 1
                #expect(text.contains("the request body did not arrive within 3 s (0 of 100 bytes received)"), "\(text)")
            } else if text.hasPrefix("HTTP/1.1 503") {
                refusedBusy += 1
            }
        }
        #expect(timedOut == 5, "the five that held the places timed out")
        let metrics = try server.metrics()
        #expect(ServeTests.metric(metrics, "kefu_connections_refused_total") == refusedProbes + refusedBusy, "\(metrics)")
        #expect(ServeTests.metric(metrics, #"kefu_connection_timeouts_total{phase="body"}"#) == timedOut)
        #expect(server.stop() == 0)
        #expect(Self.occurrences("connection limit reached", in: server.log) == 1, "\(server.log)")
    }

    @Test("start-up: the soft open-file limit is raised to the hard one; a hard limit too low for --max-connections is a warning saying what to do")
    func descriptorLimit() throws {
        let raised = try Server(["--max-connections", "100"], shell: "ulimit -S -n 200")
        #expect(raised.log.contains("raised the open-file limit (RLIMIT_NOFILE)") && raised.log.contains("from=200"), "\(raised.log)")
        #expect(!raised.log.contains("too low") && !raised.log.contains("needs about"))
        #expect(raised.stop() == 0)

        let low = try Server(["--max-connections", "512"], shell: "ulimit -n 200")
        // 512 + 64 for SQLite, logs and rule files + 64 for the admin listener's connections.
        #expect(low.log.contains("the open-file limit (RLIMIT_NOFILE) is 200 (hard limit 200), but --max-connections 512 needs about 640 descriptors"), "\(low.log)")
        #expect(low.log.contains("ulimit -n 640") && low.log.contains("LimitNOFILE=640") && low.log.contains("or lower --max-connections"))
        #expect(low.stop() == 0)

        let fitted = try Server([], shell: "ulimit -n 200")
        // 200 less 64 descriptors for SQLite, logs and rule files, less the admin listener's 64 connections.
        #expect(fitted.log.contains("serving at most 72 connections"), "the default is lowered to fit: \(fitted.log)")
        #expect(fitted.stop() == 0)
    }

    @Test("idle sockets on the admin port: closed at the header timeout, the longest-idle make room at its limit of 64, the webhook's connections untouched")
    func adminListenerLimits() throws {
        let server = try Server(["--header-timeout", "3", "--idle-timeout", "30"])
        var idle: [RawConnection] = []
        for _ in 0..<70 { idle.append(try RawConnection(port: server.adminPort)) }
        // The webhook still answers, and its own connection count does not see the admin port's.
        let webhook = try server.connect()
        webhook.send("GET /healthz HTTP/1.1\r\nHost: kefu\r\n\r\n")
        #expect(webhook.read(until: "ok\n", timeout: 5).contains("200 OK"))
        func closed() -> Int { idle.filter { $0.isClosed() }.count }
        #expect(Self.waitFor(5) { closed() == 6 ? true : nil } == true, "70 idle sockets at a limit of 64: 6 make room (\(closed()) closed)")
        // The metrics request is one more connection: it takes the place of one more idle socket.
        let metrics = try server.metrics()
        #expect(ServeTests.metric(metrics, "kefu_admin_connections_displaced_total") == 7, "\(metrics)")
        #expect(Self.gauge(metrics, "kefu_admin_connections_open") == 64, "\(metrics)")
        #expect(Self.gauge(metrics, "kefu_connections_open") == 1, "only the webhook's own connection: \(metrics)")
        #expect(ServeTests.metric(metrics, "kefu_connections_displaced_total") == nil, "\(metrics)")
        // A silent socket gets no more than the header timeout.
        #expect(Self.waitFor(8) { closed() == 70 ? true : nil } == true, "every silent admin socket is closed at the header timeout (\(closed()) of 70)")
        let after = try server.metrics()
        #expect((ServeTests.metric(after, #"kefu_admin_connection_timeouts_total{phase="header"}"#) ?? 0) >= 63, "\(after)")
        #expect(ServeTests.metric(after, #"kefu_connection_timeouts_total{phase="header"}"#) == nil, "the webhook's count is its own: \(after)")
        #expect(!webhook.isClosed(), "the webhook connection that answered is idle, not timed out (idle timeout 30 s)")
        #expect(server.stop() == 0)
    }

    @Test("bad timeout and limit settings are refused with the setting named")
    func badSettings() throws {
        func serve(_ arguments: [String]) throws -> (Int32, String) {
            let r = try TestSupport.run(TestSupport.kefu, ["serve", "--rules", Self.shop, "--port", "0", "--store", "memory"] + arguments,
                                        environment: ["KEFU_TOKEN": "t"].merging(TestSupport.sampleServiceSecrets) { $1 })
            return (r.status, r.err)
        }
        let zero = try serve(["--header-timeout", "0"])
        #expect(zero.0 != 0 && zero.1.contains("--header-timeout 0: give a number of seconds above 0 (at most 86400)"), "\(zero.1)")
        let none = try serve(["--max-connections", "0"])
        #expect(none.0 != 0 && none.1.contains("--max-connections 0: give at least 1"), "\(none.1)")
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-bad-\(UInt32.random(in: 0...UInt32.max)).yaml")
        try "body-timeout: soon\n".write(to: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: config) }
        let word = try serve(["--config", config.path])
        #expect(word.0 != 0 && word.1.contains("'body-timeout' cannot be 'soon'"), "\(word.1)")
    }
}

/// A TCP connection to 127.0.0.1 through the socket calls, for what HTTP clients will not send.
final class RawConnection {
    let fd: Int32
    /// Everything read so far.
    private(set) var received = ""
    private var sawEnd = false

    struct ConnectFailed: Error { let errno: Int32 }

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { let e = errno; Glibc.close(fd); throw ConnectFailed(errno: e) }
    }

    deinit { Glibc.close(fd) }

    func send(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            bytes = bytes.dropFirst(n)
        }
    }

    func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }

    /// Reads what is there within `wait` seconds; false once the server closed (EOF or reset).
    @discardableResult
    private func pump(_ wait: TimeInterval) -> Bool {
        if sawEnd { return false }
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard Glibc.poll(&entry, 1, Int32(max(0, wait * 1000))) > 0 else { return true }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let n = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { sawEnd = true; return false }
        received += String(decoding: buffer[..<n], as: UTF8.self)
        return true
    }

    /// Reads until the server closes the connection or `timeout` passes.
    func readUntilClosed(timeout: TimeInterval) -> (text: String, closed: Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        while !sawEnd, Date() < deadline { pump(deadline.timeIntervalSinceNow) }
        return (received, sawEnd)
    }

    /// Reads until `marker` has arrived (in what is read from now on), the connection closes, or `timeout` passes.
    func read(until marker: String, timeout: TimeInterval) -> String {
        let start = received.utf8.count
        func fresh() -> String { String(decoding: received.utf8.dropFirst(start), as: UTF8.self) }
        let deadline = Date().addingTimeInterval(timeout)
        while !sawEnd, Date() < deadline, !fresh().contains(marker) { pump(deadline.timeIntervalSinceNow) }
        return fresh()
    }

    /// Whether the server has closed the connection (reading whatever else came).
    func isClosed() -> Bool {
        while pump(0), hasPending() {}
        return sawEnd
    }

    private func hasPending() -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return Glibc.poll(&entry, 1, 0) > 0
    }
}
