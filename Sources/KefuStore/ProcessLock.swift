import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One process per SQLite file: the store's memory is authoritative for what it writes, so a second
/// `kefu serve` on the same file would answer from its own, different memory. The lock is an
/// `flock` on `PATH.lock` (holding the owner's pid for the message); the kernel releases it when the
/// process ends, also on `kill -9`, so there is never a stale lock to remove by hand.
public final class ProcessLock: Sendable {
    public let path: String
    private let descriptor: Int32

    public struct InUse: Error, CustomStringConvertible {
        public let database: String
        public let owner: String?
        public var description: String {
            "\(database) is in use by another kefu serve\(owner.map { " (pid \($0))" } ?? ""). One process owns a SQLite file: "
                + "stop the other one, or give this one its own file (--store sqlite:OTHER.sqlite). "
                + "Several processes on one store need PostgreSQL (--store postgres://USER@HOST:PORT/DATABASE; docs/deploy.md)."
        }
    }

    public init(database: String) throws {
        path = database + ".lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path]) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = read(fd, &buffer, 31)
            close(fd)
            let owner = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : nil
            throw InUse(database: database, owner: owner?.isEmpty == false ? owner : nil)
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
        descriptor = fd
    }

    deinit { close(descriptor) }  // releases the flock
}
