import Foundation
import KefuRules

/// The secrets the declared services need, read once from the environment when the server starts:
/// each name `NAME` from `KEFU_SECRET_NAME`, or from the file named by `KEFU_SECRET_NAME_FILE`
/// (its trailing newline trimmed). A signing key may also have a previous key during a rotation,
/// `KEFU_SECRET_<NAME>_PREVIOUS` (or `…_PREVIOUS_FILE`), which is optional.
///
/// No value ever appears in a description, a debug description or an error: they name variables,
/// files and services only.
public struct ServiceSecrets: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// Auth secrets by name (as header values: no control characters).
    let values: [String: String]
    /// Signing keys by the signing secret's name: the current key, then the previous one if set.
    let signingKeys: [String: [SigningKey]]

    /// The prefix of every variable: `KEFU_SECRET_ERP_TOKEN` holds the secret named `ERP_TOKEN`.
    public static let prefix = "KEFU_SECRET_"
    /// The suffix naming a rotation's previous signing key (`SIGNING_KEY_PREVIOUS`).
    public static let previousSuffix = "_PREVIOUS"

    /// Reads every secret `services` need (their ``ServiceSpec/secretNames``) from `environment`.
    /// Throws one error listing every problem: each missing variable with the services that need it,
    /// a secret set both ways, a file that cannot be read (by path), an empty value, a signing key
    /// that is too short or not valid `whsec_` base64.
    public static func resolve(for services: [ServiceSpec],
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws(ServiceSecretsError) -> ServiceSecrets {
        var authNames: [String: [String]] = [:], signingNames: [String: [String]] = [:]
        var order: [String] = []
        for service in services {
            if let auth = service.auth {
                let name: String
                switch auth {
                case .bearer(let s), .header(_, let s), .basic(_, let s): name = s
                }
                if authNames[name] == nil && signingNames[name] == nil { order.append(name) }
                authNames[name, default: []].append(service.name)
            }
            if authNames[service.signing] == nil && signingNames[service.signing] == nil { order.append(service.signing) }
            signingNames[service.signing, default: []].append(service.name)
        }

        var problems: [ServiceSecretsError.Problem] = []
        var values: [String: String] = [:], keys: [String: [SigningKey]] = [:]
        for name in order {
            let users = ((authNames[name] ?? []) + (signingNames[name] ?? [])).uniqued()
            switch read(name, environment) {
            case .failure(let problem): problems.append(problem)
            case .success(nil): problems.append(.missing(variable: prefix + name, services: users))
            case .success(let value?):
                if authNames[name] != nil {
                    if let bad = value.unicodeScalars.first(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                        problems.append(.invalid(variable: prefix + name,
                                                 reason: "contains a control character (U+\(String(format: "%04X", bad.value))); a header value cannot carry it"))
                    } else {
                        values[name] = value
                    }
                }
                if signingNames[name] != nil {
                    do throws(SigningKey.FormatError) {
                        var list = [try SigningKey(value)]
                        switch read(name + previousSuffix, environment) {
                        case .failure(let problem): problems.append(problem)
                        case .success(nil): break
                        case .success(let previous?):
                            do throws(SigningKey.FormatError) { list.append(try SigningKey(previous)) } catch {
                                problems.append(.invalid(variable: prefix + name + previousSuffix, reason: error.sentence))
                            }
                        }
                        keys[name] = list
                    } catch {
                        problems.append(.invalid(variable: prefix + name, reason: error.sentence))
                    }
                }
            }
        }
        if !problems.isEmpty { throw ServiceSecretsError(problems: problems) }
        return ServiceSecrets(values: values, signingKeys: keys)
    }

    /// `KEFU_SECRET_<name>` or the contents of `KEFU_SECRET_<name>_FILE`; nil when neither is set.
    private static func read(_ name: String, _ environment: [String: String]) -> Result<String?, ServiceSecretsError.Problem> {
        let variable = prefix + name, fileVariable = variable + "_FILE"
        let direct = environment[variable], file = environment[fileVariable]
        switch (direct, file) {
        case (nil, nil): return .success(nil)
        case (_?, _?): return .failure(.both(variable: variable, fileVariable: fileVariable))
        case (let value?, nil):
            return value.isEmpty ? .failure(.empty(variable: variable)) : .success(value)
        case (nil, let path?):
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                var isFolder: ObjCBool = false
                let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
                let reason = !exists ? "there is no such file" : isFolder.boolValue ? "it is a folder, not a file" : "it cannot be read (check its permissions)"
                return .failure(.unreadable(variable: fileVariable, path: path, reason: reason))
            }
            guard var text = String(data: data, encoding: .utf8) else {
                return .failure(.unreadable(variable: fileVariable, path: path, reason: "it is not UTF-8 text"))
            }
            while text.hasSuffix("\n") || text.hasSuffix("\r") || text.hasSuffix("\r\n") { text.removeLast() }
            return text.isEmpty ? .failure(.empty(variable: fileVariable)) : .success(text)
        }
    }

    /// The empty set (a rule set without services).
    public init() { values = [:]; signingKeys = [:] }

    init(values: [String: String], signingKeys: [String: [SigningKey]]) {
        self.values = values; self.signingKeys = signingKeys
    }

    /// The auth secret named `name`.
    func value(_ name: String) -> String? { values[name] }

    /// The signing keys named `name`: current, then previous.
    func keys(_ name: String) -> [SigningKey] { signingKeys[name] ?? [] }

    /// The names resolved (never the values), sorted.
    public var names: [String] {
        (Array(values.keys) + signingKeys.flatMap { name, keys in keys.count > 1 ? [name, name + Self.previousSuffix] : [name] }).uniqued().sorted()
    }

    /// Whether a previous signing key is set for `name` (a rotation is under way).
    public func isRotating(_ name: String) -> Bool { (signingKeys[name]?.count ?? 0) > 1 }

    /// Every secret value (auth values and the signing keys as written), for scrubbing text.
    var allValues: [String] { Array(values.values) + signingKeys.values.flatMap { $0.map(\.written) } }

    public var description: String { "ServiceSecrets(\(names.joined(separator: ", ")))" }
    public var debugDescription: String { description }
}

/// An HMAC-SHA256 signing key. `whsec_<base64>` (Standard Webhooks) is the base64-decoded bytes;
/// any other text is its UTF-8 bytes. At least 16 bytes.
public struct SigningKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    let bytes: [UInt8]
    /// The text it was read from (kept only to scrub it from any text that might carry it).
    let written: String

    public static let minimumBytes = 16

    public enum FormatError: Error, Sendable, Equatable {
        case notBase64
        case tooShort(bytes: Int)

        public var sentence: String {
            switch self {
            case .notBase64: "starts with whsec_ but what follows is not valid base64 (Standard Webhooks keys are whsec_ + base64 of the key bytes)"
            case .tooShort(let n): "is \(n) byte\(n == 1 ? "" : "s") long; a signing key needs at least \(SigningKey.minimumBytes) (use 32 random bytes: whsec_ + base64)"
            }
        }
    }

    public init(_ text: String) throws(FormatError) {
        if text.hasPrefix("whsec_") {
            guard let data = Data(base64Encoded: String(text.dropFirst(6))) else { throw .notBase64 }
            bytes = Array(data)
        } else {
            bytes = Array(text.utf8)
        }
        guard bytes.count >= Self.minimumBytes else { throw .tooShort(bytes: bytes.count) }
        written = text
    }

    public var description: String { "SigningKey(…redacted…)" }
    public var debugDescription: String { description }
}

/// Why the secrets could not be read: every problem at once, naming variables, files and services,
/// never a value.
public struct ServiceSecretsError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Problem: Error, Sendable, Equatable {
        /// Neither `KEFU_SECRET_<NAME>` nor `…_FILE` is set.
        case missing(variable: String, services: [String])
        /// Both are set.
        case both(variable: String, fileVariable: String)
        /// `…_FILE` names a file that cannot be read.
        case unreadable(variable: String, path: String, reason: String)
        case empty(variable: String)
        /// The value is not usable (a control character in an auth secret, a bad signing key).
        case invalid(variable: String, reason: String)

        public var sentence: String {
            switch self {
            case .missing(let variable, let services):
                "\(variable) is not set (needed by service\(services.count == 1 ? "" : "s") \(services.joined(separator: ", "))): set it, or \(variable)_FILE to a file holding the secret"
            case .both(let variable, let fileVariable):
                "\(variable) and \(fileVariable) are both set: keep only one"
            case .unreadable(let variable, let path, let reason):
                "\(variable) names \(path), but \(reason)"
            case .empty(let variable):
                "\(variable) is set but empty"
            case .invalid(let variable, let reason):
                "\(variable) \(reason)"
            }
        }
    }

    public var problems: [Problem]

    public var description: String {
        "The services' secrets are not all usable:\n" + problems.map { "  - " + $0.sentence }.joined(separator: "\n")
    }
}

extension Array where Element: Hashable {
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
