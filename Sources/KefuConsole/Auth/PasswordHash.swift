import Crypto
import _CryptoExtras
import Foundation

/// A console password kept as an scrypt hash in a self-describing text form:
/// `scrypt$N$r$p$SALT$HASH` (N the cost, a power of two; r the block size; p the parallelism; SALT and HASH base64).
///
/// New hashes use ``defaultParameters`` (16 MiB per check; tens of milliseconds in a release build — a debug
/// build's unoptimized BoringSSL takes seconds).
/// A hash read from a users file is accepted only within ``limits``, so that a file edited by hand (or by
/// someone who should not) cannot make one sign-in cost seconds or gigabytes.
public struct PasswordHash: Sendable, Equatable, CustomStringConvertible {
    public struct Parameters: Sendable, Equatable {
        public var cost: Int
        public var blockSize: Int
        public var parallelism: Int
        public init(cost: Int, blockSize: Int, parallelism: Int) {
            self.cost = cost; self.blockSize = blockSize; self.parallelism = parallelism
        }
        /// scrypt's memory: 128 · r · N bytes.
        public var memoryBytes: Int { 128 * blockSize * cost }
    }

    /// N = 2^14, r = 8, p = 1: 16 MiB, the interactive-sign-in parameters of RFC 7914 and Django's default.
    public static let defaultParameters = Parameters(cost: 1 << 14, blockSize: 8, parallelism: 1)
    /// What a users file may ask for: N from 2^10 to 2^16, r 1…16, p 1…4, at most 64 MiB and
    /// at most 4× the work of the default (N · r · p ≤ 2^20).
    public static func withinLimits(_ p: Parameters) -> Bool {
        p.cost >= 1 << 10 && p.cost <= 1 << 16 && p.cost & (p.cost - 1) == 0
            && (1...16).contains(p.blockSize) && (1...4).contains(p.parallelism)
            && p.memoryBytes <= 64 << 20 && p.cost * p.blockSize * p.parallelism <= 1 << 20
    }

    public let parameters: Parameters
    public let salt: [UInt8]
    public let hash: [UInt8]

    /// A new hash of `password` with a fresh 16-byte random salt.
    public static func make(password: String, parameters: Parameters = defaultParameters) throws -> PasswordHash {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let hash = try derive(password, salt: salt, parameters: parameters, length: 32)
        return PasswordHash(parameters: parameters, salt: salt, hash: hash)
    }

    /// A hash no password matches (random salt and key), checked in place of an unknown user's so that
    /// an unknown name costs what a known one does.
    public static func decoy(parameters: Parameters = defaultParameters) -> PasswordHash {
        var generator = SystemRandomNumberGenerator()
        func random(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8.random(in: .min ... .max, using: &generator) } }
        return PasswordHash(parameters: parameters, salt: random(16), hash: random(32))
    }

    init(parameters: Parameters, salt: [UInt8], hash: [UInt8]) {
        self.parameters = parameters; self.salt = salt; self.hash = hash
    }

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        /// Not of the form `scrypt$…` at all (a plaintext password by mistake?).
        case notScrypt
        case malformed(String)
        case outOfLimits
        public var description: String {
            switch self {
            case .notScrypt: "this is not an scrypt hash (scrypt$N$r$p$SALT$HASH); never write a password itself into the file"
            case .malformed(let what): "the scrypt hash is malformed: \(what)"
            case .outOfLimits: "the scrypt parameters are outside what a sign-in may cost (N 1024…65536, a power of two; r 1…16; p 1…4; at most 64 MiB)"
            }
        }
    }

    /// Reads the text form. Errors never quote the text (it could be a password written by mistake).
    public init(parsing text: Substring) throws(ParseError) {
        let parts = text.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.first == "scrypt" else { throw .notScrypt }
        guard parts.count == 6 else { throw .malformed("it needs 6 parts separated by $, not \(parts.count)") }
        guard let n = Int(parts[1]), let r = Int(parts[2]), let p = Int(parts[3]) else {
            throw .malformed("N, r and p must be whole numbers")
        }
        guard let salt = Data(base64Encoded: String(parts[4])), salt.count >= 8 else { throw .malformed("the salt is not base64 of at least 8 bytes") }
        guard let hash = Data(base64Encoded: String(parts[5])), (16...64).contains(hash.count) else {
            throw .malformed("the hash is not base64 of 16 to 64 bytes")
        }
        let parameters = Parameters(cost: n, blockSize: r, parallelism: p)
        guard Self.withinLimits(parameters) else { throw .outOfLimits }
        self.init(parameters: parameters, salt: Array(salt), hash: Array(hash))
    }

    public var description: String {
        "scrypt$\(parameters.cost)$\(parameters.blockSize)$\(parameters.parallelism)$\(Data(salt).base64EncodedString())$\(Data(hash).base64EncodedString())"
    }

    /// Whether `password` is the one hashed (constant-time comparison of the derived key).
    public func verify(_ password: String) -> Bool {
        guard let derived = try? Self.derive(password, salt: salt, parameters: parameters, length: hash.count) else { return false }
        return Self.constantTimeEqual(derived, hash)
    }

    static func derive(_ password: String, salt: [UInt8], parameters: Parameters, length: Int) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(from: Array(password.utf8), salt: salt, outputByteCount: length,
                                           rounds: parameters.cost, blockSize: parameters.blockSize,
                                           parallelism: parameters.parallelism, maxMemory: 65 << 20)
        return key.withUnsafeBytes { Array($0) }
    }

    /// Equal bytes, in time that depends only on the lengths.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }

    /// Equal strings, in time that does not depend on where they differ (compares their SHA-256 digests).
    public static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        constantTimeEqual(Array(SHA256.hash(data: Array(a.utf8))), Array(SHA256.hash(data: Array(b.utf8))))
    }
}
