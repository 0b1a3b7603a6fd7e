import Foundation

/// The console's accounts: a text file, one account a line, `NAME:ROLE:HASH`
/// (`zhang.wei:editor:scrypt$32768$8$1$…$…`); `#` starts a comment line. ROLE is `viewer` or `editor`;
/// HASH is a ``PasswordHash`` — never a password. Written by `kefu console add-user`.
public struct UsersFile: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var role: ConsoleUser.Role
        public var hash: PasswordHash
        public init(name: String, role: ConsoleUser.Role, hash: PasswordHash) { self.name = name; self.role = role; self.hash = hash }
        var line: String { "\(name):\(role.rawValue):\(hash)" }
    }

    public var entries: [Entry]
    public init(entries: [Entry] = []) { self.entries = entries }

    public func entry(named name: String) -> Entry? { entries.first { $0.name == name } }

    /// A bad line: where, what is wrong, what to do. Never quotes the hash field (it could be a password).
    public struct LineError: Error, CustomStringConvertible, Equatable {
        public let path: String
        public let line: Int
        public let problem: String
        public var description: String {
            "\(path):\(line): \(problem). Each line is NAME:ROLE:HASH (ROLE viewer or editor); write it with `kefu console add-user NAME --role viewer|editor --users \(path)`."
        }
    }

    public struct Unreadable: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "the console users file \(path) cannot be read (\(reason)); create it with `kefu console add-user NAME --role editor --users \(path)`" }
    }

    /// A name: 1 to 64 characters, none of them a colon, a space or a control character.
    public static func validName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && !name.unicodeScalars.contains { $0 == ":" || $0 == "#" || $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7f }
    }

    public static func load(path: String) throws -> UsersFile {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "not readable UTF-8 text" : "no such file"
            throw Unreadable(path: path, reason: reason)
        }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String) throws -> UsersFile {
        var entries: [Entry] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            func fail(_ problem: String) -> LineError { LineError(path: path, line: index + 1, problem: problem) }
            let fields = trimmed.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { throw fail("expected three fields separated by ':', found \(fields.count)") }
            let name = String(fields[0])
            guard validName(name) else { throw fail("the name '\(name.prefix(64))' is not usable (1 to 64 characters, no ':', '#' or spaces)") }
            guard let role = ConsoleUser.Role(rawValue: String(fields[1])) else {
                throw fail("the role of '\(name)' is '\(fields[1].prefix(20))'; it must be viewer or editor")
            }
            let hash: PasswordHash
            do { hash = try PasswordHash(parsing: fields[2]) } catch { throw fail("the hash of '\(name)': \(error)") }
            if entries.contains(where: { $0.name == name }) { throw fail("'\(name)' is listed twice; keep one line per user") }
            entries.append(Entry(name: name, role: role, hash: hash))
        }
        return UsersFile(entries: entries)
    }

    /// Sets `entry` in the file at `path` (replacing the line of the same name, else appending), keeping every
    /// other line and comment as it is. Atomic: a new file beside it (mode 0600) renamed over the old one.
    /// The rest of the file must be valid (a bad line is reported, nothing is written).
    public static func upsert(_ entry: Entry, path: String) throws {
        let existing: String
        if FileManager.default.fileExists(atPath: path) {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw Unreadable(path: path, reason: "not readable UTF-8 text") }
            _ = try parse(text, path: path)
            existing = text
        } else {
            existing = "# Kefu console users: NAME:ROLE:HASH (ROLE viewer or editor). Written by `kefu console add-user`; no passwords here.\n"
        }
        var lines = existing.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        if let at = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).split(separator: ":", maxSplits: 1).first.map(String.init) == entry.name
            && !$0.trimmingCharacters(in: .whitespaces).hasPrefix("#") }) {
            lines[at] = entry.line
        } else {
            lines.append(entry.line)
        }
        let text = lines.joined(separator: "\n") + "\n"
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UInt32.random(in: 0 ... .max)).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw Unreadable(path: path, reason: "its folder is not writable")
        }
        guard rename(temporary.path, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw Unreadable(path: path, reason: "it cannot be replaced: \(reason)")
        }
    }
}
