import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import KefuServer

/// JSON log lines are gathered and written in batches (off the request's thread); warnings go out at once, in order.
@Suite("Log output")
struct LogOutputTests {
    /// Everything readable from `fd` until `done` says so or 5 s pass.
    static func read(_ fd: Int32, until done: (String) -> Bool) -> String {
        var text = ""
        let deadline = Date().addingTimeInterval(5)
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while !done(text), Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 { text += String(decoding: buffer[0..<n], as: UTF8.self) }
        }
        return text
    }

    @Test("lines below warning arrive within the flush interval, a warning at once after them, in the order logged")
    func batchesKeepOrder() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let output = LogOutput(descriptor: fds[1])
        for i in 0..<100 { output.write("info \(i)\n", now: false) }
        let batched = Self.read(fds[0]) { $0.contains("info 99\n") }
        #expect(batched == (0..<100).map { "info \($0)\n" }.joined(), "the gathered lines, whole and in order")
        output.write("info 100\n", now: false)
        output.write("warning 101\n", now: true)
        // The warning is written by the call itself: it and what gathered before it are readable at once.
        var poller = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
        #expect(poll(&poller, 1, 0) == 1, "readable without waiting for the flusher")
        let urgent = Self.read(fds[0]) { $0.contains("warning 101\n") }
        #expect(urgent == "info 100\nwarning 101\n")
    }

    @Test("a batch past the size limit is written without waiting")
    func largeBatch() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        _ = fcntl(fds[1], 1031, 1 << 20)  // F_SETPIPE_SZ (Linux): room for the whole batch, which the writer writes before the test reads
        let output = LogOutput(descriptor: fds[1])
        let line = String(repeating: "x", count: 1023) + "\n"
        for _ in 0..<(LogOutput.limit / 1024) { output.write(line, now: false) }
        var poller = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
        #expect(poll(&poller, 1, 0) == 1, "the full buffer went out with the line that filled it")
        let all = Self.read(fds[0]) { $0.utf8.count >= LogOutput.limit }
        #expect(all.utf8.count == LogOutput.limit)
    }
}
