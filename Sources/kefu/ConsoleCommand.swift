import ArgumentParser
import Foundation
import KefuConsole

/// `kefu console …`: the console's accounts.
struct ConsoleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Manage who may sign in to the console (the admin listener of kefu serve).",
        subcommands: [AddUser.self]
    )

    struct AddUser: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-user",
            abstract: "Add a console user, or set an existing user's role and password.",
            discussion: """
                The password is read from --password-file FILE, else from standard input (never from the command
                line); only its scrypt hash is written. The file is replaced atomically (mode 0600); a running
                kefu serve reads it again at the next sign-in.
                  kefu console add-user zhang.wei --role editor --users .kefu/console-users < password.txt
                """
        )

        @Argument(help: "The user name (1 to 64 characters, no ':', '#' or spaces).") var name: String
        @Option(help: "viewer (sees the pages, personal data masked) or editor (may also act and reveal).") var role: String
        @Option(help: ArgumentHelp("The users file; also KEFU_CONSOLE_USERS.", valueName: "file")) var users: String?
        @Option(name: .customLong("password-file"), help: ArgumentHelp("Read the password from this file (its first line).", valueName: "file"))
        var passwordFile: String?

        func run() throws {
            guard UsersFile.validName(name) else {
                throw ValidationError("The name '\(name)' is not usable: 1 to 64 characters, no ':', '#' or spaces.")
            }
            guard let role = ConsoleUser.Role(rawValue: role) else { throw ValidationError("--role \(role): give viewer or editor.") }
            guard let path = users ?? ProcessInfo.processInfo.environment["KEFU_CONSOLE_USERS"].flatMap({ $0.isEmpty ? nil : $0 }) else {
                throw ValidationError("Give the users file: --users FILE (or KEFU_CONSOLE_USERS).")
            }
            let password = try readPassword()
            guard password.count >= 8 else {
                throw ValidationError("The password is \(password.count) characters long; use at least 8 (better: a long random one, e.g. `openssl rand -base64 18`).")
            }
            let hash = try PasswordHash.make(password: password)
            do {
                try UsersFile.upsert(.init(name: name, role: role, hash: hash), path: path)
            } catch {
                throw StartFailure("\(error)")
            }
            print("\(name) (\(role.rawValue)) is set in \(path).")
        }

        func readPassword() throws -> String {
            let data: Data
            if let passwordFile {
                guard let read = FileManager.default.contents(atPath: passwordFile) else {
                    throw ValidationError("--password-file \(passwordFile) cannot be read.")
                }
                data = read
            } else {
                if isatty(STDIN_FILENO) != 0 {
                    FileHandle.standardError.write(Data("Password for \(name) (then Enter; it is not shown): ".utf8))
                    return readHidden()
                }
                data = FileHandle.standardInput.readDataToEndOfFile()
            }
            let text = String(decoding: data, as: UTF8.self)
            return String(text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
                .trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
        }

        /// A line from the terminal with echo off.
        func readHidden() -> String {
            var old = termios()
            tcgetattr(STDIN_FILENO, &old)
            var quiet = old
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSANOW, &quiet)
            defer { tcsetattr(STDIN_FILENO, TCSANOW, &old); FileHandle.standardError.write(Data("\n".utf8)) }
            return readLine(strippingNewline: true) ?? ""
        }
    }
}
