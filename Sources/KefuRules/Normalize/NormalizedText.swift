/// A message after normalization, as UTF-8 bytes, with the original byte range of every byte so
/// that a match found in the normalized text points back at what the user typed.
public struct NormalizedText: Sendable, Equatable {
    public var bytes: [UInt8]
    /// For each normalized byte, the original UTF-8 range of the character it came from.
    public var originStart: [Int32]
    public var originEnd: [Int32]

    public init() {
        bytes = []
        originStart = []
        originEnd = []
    }

    public var string: String { String(decoding: bytes, as: UTF8.self) }
    public var isEmpty: Bool { bytes.isEmpty }

    /// The original byte range of the normalized range `range` (empty ranges map to an empty range).
    public func originalRange(of range: Range<Int>) -> Range<Int> {
        guard !range.isEmpty, range.upperBound <= bytes.count else {
            let at = range.lowerBound < originStart.count ? Int(originStart[range.lowerBound]) : Int(originEnd.last ?? 0)
            return at..<at
        }
        return Int(originStart[range.lowerBound])..<Int(originEnd[range.upperBound - 1])
    }

    mutating func append(_ scalar: Unicode.Scalar, from origin: Range<Int>) {
        let start = Int32(origin.lowerBound), end = Int32(origin.upperBound)
        if scalar.value < 0x80 {
            bytes.append(UInt8(scalar.value))
            originStart.append(start)
            originEnd.append(end)
        } else {
            for byte in scalar.utf8 {
                bytes.append(byte)
                originStart.append(start)
                originEnd.append(end)
            }
        }
    }
}
