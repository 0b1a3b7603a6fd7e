import ArgumentParser
import Foundation
import KefuPostgres
import KefuServer

/// `--store TEXT` as every command reads it: sqlite:PATH, memory or postgres://…, the PostgreSQL
/// password from KEFU_STORE_PASSWORD_FILE (or the URL). A bad value is a usage error that never shows a password.
enum StoreArgument {
    static func parse(_ text: String) throws -> ServerConfiguration.StoreChoice {
        let passwordFile = ProcessInfo.processInfo.environment["KEFU_STORE_PASSWORD_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        let choice: ServerConfiguration.StoreChoice?
        do { choice = try ServerConfiguration.StoreChoice.parse(text, passwordFile: passwordFile) } catch { throw ValidationError("\(error)") }
        guard let choice else {
            throw ValidationError("--store \(PostgresLocation.redacted(text)): use sqlite:PATH (the embedded default is sqlite:kefu-data/kefu.sqlite), memory, "
                                  + "or postgres://USER@HOST:PORT/DATABASE (the password in KEFU_STORE_PASSWORD_FILE).")
        }
        return choice
    }

    /// KEFU_STORE, when set and not empty.
    static var fromEnvironment: String? { ProcessInfo.processInfo.environment["KEFU_STORE"].flatMap { $0.isEmpty ? nil : $0 } }
}
