import Foundation
import KefuRules
import Logging
import Synchronization

/// One JSON object per line on standard error: time, level, message and metadata.
/// Nothing secret is ever put into metadata by Kefu (no token, no key, no message body).
///
/// Written by hand (no `JSONSerialization`, no date formatter per line): at one line per message
/// the logger is on the hot path, and those two cost about half the webhook's throughput.
/// Lines below `warning` are gathered and written by ``LogOutput`` a few times a second (one write
/// for many lines, none on the request's thread); a warning or worse is written at once, after
/// what was gathered, so the order of lines is kept.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "{\"time\":\"" + Self.timestamp() + "\",\"level\":\"" + event.level.rawValue + "\",\"logger\":"
        Self.appendQuoted(label, to: &line)
        line += ",\"message\":"
        Self.appendQuoted(event.message.description, to: &line)
        let merged = event.metadata.map { metadata.merging($0) { $1 } } ?? metadata
        for key in merged.keys.sorted() {
            line += ","
            Self.appendQuoted(key, to: &line)
            line += ":"
            Self.appendQuoted("\(merged[key]!)", to: &line)
        }
        line += "}\n"
        LogOutput.standardError.write(line, now: event.level >= .warning)
    }

    /// UTC, millisecond precision: 2026-11-25T16:47:04.123Z
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var t = tm()
        gmtime_r(&seconds, &t)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(t.tm_year + 1900)-\(pad(t.tm_mon + 1, 2))-\(pad(t.tm_mday, 2))T\(pad(t.tm_hour, 2)):\(pad(t.tm_min, 2)):\(pad(t.tm_sec, 2))."
            + pad(Int32(now.tv_nsec / 1_000_000), 3) + "Z"
    }

    static func appendQuoted(_ text: String, to line: inout String) {
        JSONValue.quote(text, into: &line)
    }
}

/// Standard error, written in batches: lines gather in a buffer that a thread of its own writes every
/// ``interval`` (or at once when asked, or when it passes ``limit``). ``flush()`` runs at exit.
final class LogOutput: Sendable {
    static let standardError = LogOutput(descriptor: 2)
    static let interval = Duration.milliseconds(50)
    static let limit = 256 * 1024

    private let descriptor: Int32
    private let pending = Mutex<[UInt8]>([])
    /// Serializes the writes themselves (the flusher's and an urgent line's), so lines never interleave.
    private let writing = Mutex(())

    init(descriptor: Int32) {
        self.descriptor = descriptor
        let (seconds, attoseconds) = Self.interval.components
        let pause = Double(seconds) + Double(attoseconds) / 1e18
        Thread.detachNewThread { [self] in
            while true {
                Thread.sleep(forTimeInterval: pause)
                flush()
            }
        }
        if descriptor == 2 { atexit { LogOutput.standardError.flush() } }
    }

    func write(_ line: String, now urgent: Bool) {
        let full = pending.withLock { buffer -> Bool in
            buffer.append(contentsOf: line.utf8)
            return buffer.count >= Self.limit
        }
        if urgent || full { flush() }
    }

    /// Writes what has gathered.
    func flush() {
        writing.withLock { _ in
            let bytes = pending.withLock { buffer -> [UInt8] in
                let gathered = buffer
                buffer = []
                return gathered
            }
            guard !bytes.isEmpty else { return }
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = Glibc.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                    if n > 0 { offset += n } else if n < 0, errno == EINTR { continue } else { return }
                }
            }
        }
    }
}
