import Foundation

/// Temporary media (§6): upload checks by magic bytes and size, and the 3-day life of a media_id.
struct MediaStore: Sendable {
    static let life: Int64 = 3 * 86_400

    struct Item: Sendable {
        var id: String
        var type: String
        var bytes: Int
        var createdAt: Int64
    }

    /// Per type: the size limit and the formats accepted, recognised by their first bytes.
    static let limits: [String: (maxBytes: Int, formats: [Format])] = [
        "image": (2 << 20, [.png, .jpeg, .gif]),
        "voice": (2 << 20, [.amr, .mp3]),
        "video": (10 << 20, [.mp4]),
        "thumb": (64 << 10, [.jpeg]),
    ]

    enum Format: String, Sendable {
        case png, jpeg, gif, amr, mp3, mp4

        static func sniff(_ data: [UInt8]) -> Format? {
            func starts(_ prefix: [UInt8]) -> Bool { data.count >= prefix.count && Array(data.prefix(prefix.count)) == prefix }
            if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
            if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
            if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) { return .gif }
            if starts(Array("#!AMR".utf8)) { return .amr }
            if starts(Array("ID3".utf8)) || (data.count >= 2 && data[0] == 0xFF && data[1] & 0xE0 == 0xE0) { return .mp3 }
            if data.count >= 8, Array(data[4..<8]) == Array("ftyp".utf8) { return .mp4 }
            return nil
        }
    }

    private(set) var items: [String: Item] = [:]
    private(set) var order: [String] = []

    /// Checks and stores one upload: 40004 unknown type, 44001 empty, 40005 wrong format, 40006 too big.
    mutating func upload(type: String?, file: [UInt8], now: Int64) -> Result<Item, APIError> {
        guard let type, let limit = Self.limits[type] else { return .failure(APIError(40004)) }
        guard !file.isEmpty else { return .failure(APIError(44001)) }
        guard let format = Format.sniff(file), limit.formats.contains(format) else {
            return .failure(APIError(40005, "invalid file type (\(type) accepts \(limit.formats.map(\.rawValue).joined(separator: "/")))"))
        }
        guard file.count <= limit.maxBytes else {
            return .failure(APIError(40006, "invalid meida size (\(type) is at most \(limit.maxBytes) bytes)"))
        }
        let item = Item(id: Random.alphanumeric(64), type: type, bytes: file.count, createdAt: now)
        items[item.id] = item
        order.append(item.id)
        return .success(item)
    }

    /// Whether `id` was uploaded as one of `kinds` and is less than 3 days old.
    func isLive(_ id: String?, kinds: Set<String>, now: Int64) -> Bool {
        guard let id, let item = items[id] else { return false }
        return kinds.contains(item.type) && now < item.createdAt + Self.life
    }
}

/// The file part (`name="media"`) of a multipart/form-data body.
enum Multipart {
    enum Failure: Error { case notMultipart, noMediaPart }

    static func mediaPart(body: [UInt8], contentType: String?) -> Result<[UInt8], Failure> {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/form-data"),
              let range = contentType.range(of: "boundary=") else { return .failure(.notMultipart) }
        var boundary = String(contentType[range.upperBound...].prefix { $0 != ";" }).trimmingCharacters(in: .whitespaces)
        if boundary.hasPrefix("\""), boundary.hasSuffix("\""), boundary.count >= 2 { boundary = String(boundary.dropFirst().dropLast()) }
        let delimiter = Array(("--" + boundary).utf8)
        var parts: [ArraySlice<UInt8>] = []
        var positions: [Int] = []
        var i = 0
        while let found = find(delimiter, in: body, from: i) {
            positions.append(found)
            i = found + delimiter.count
        }
        guard positions.count >= 2 else { return .failure(.notMultipart) }
        for (start, end) in zip(positions, positions.dropFirst()) {
            var from = start + delimiter.count
            if from + 2 <= end, body[from] == 0x0D, body[from + 1] == 0x0A { from += 2 }
            var to = end
            if to - 2 >= from, body[to - 2] == 0x0D, body[to - 1] == 0x0A { to -= 2 }
            parts.append(body[from..<to])
        }
        let separator: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
        for part in parts {
            let bytes = Array(part)
            guard let headerEnd = find(separator, in: bytes, from: 0) else { continue }
            let headers = String(decoding: bytes[..<headerEnd], as: UTF8.self).lowercased()
            let disposition = headers.split(separator: "\r\n").first { $0.hasPrefix("content-disposition:") } ?? ""
            if disposition.contains("name=\"media\"") || disposition.contains("name=media;") || disposition.hasSuffix("name=media") {
                return .success(Array(bytes[(headerEnd + 4)...]))
            }
        }
        return .failure(.noMediaPart)
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        let first = needle[0]
        var i = start
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first, haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
