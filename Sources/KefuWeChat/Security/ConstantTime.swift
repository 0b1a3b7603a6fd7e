/// Compares two byte sequences in time that depends only on their lengths, never on where they
/// first differ, so that a signature cannot be guessed byte by byte from response times.
func constantTimeEquals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for (x, y) in zip(a, b) { difference |= x ^ y }
    return difference == 0
}
