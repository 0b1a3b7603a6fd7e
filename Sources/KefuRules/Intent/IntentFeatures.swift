#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Character n-gram features for `IntentClassifier`: n-gram hashing, the feature hash table and
// the TF-IDF vectorizer. Everything here is internal; see `IntentClassifier` for the public API.

// MARK: - N-gram hashing

/// Hashes of the character n-grams of a text, without building any string.
///
/// - The text is read as Unicode scalars (not `Character`s): grapheme breaking costs time and
///   brings nothing for Chinese, and for Latin letters with combining marks the caller's
///   normalizer is the place to compose or strip them.
/// - With `boundaries`, a start marker and an end marker are added around the text, so
///   "退货" yields `^退`, `货$`, `^退货`, `退货$` as well as the inner n-grams: an utterance that
///   *starts* with 查 (查物流) is told apart from one that merely contains it. The markers are
///   never unigrams on their own (a feature present in every text is only a second bias).
/// - Each n-gram is hashed with 64-bit FNV-1a over its UTF-8 bytes; a marker is the byte 0xFF,
///   which never occurs in UTF-8, so it cannot collide with any text. The hashes of the n-grams
///   ending at one scalar are extended from those ending at the previous one (FNV-1a appends a
///   byte at a time), so the cost is one multiply per byte per n, and nothing is allocated
///   beyond a stack buffer of `maxN` words.
/// - Trade-off: the hash *is* the n-gram's identity (the table keeps no strings). Two distinct
///   n-grams with the same 64-bit hash would share a feature; with a few ten thousand n-grams
///   the chance of any such pair is about 10⁻¹¹, and the consequence would be one slightly
///   noisier feature.
struct IntentNGrams {
    static let fnvOffset: UInt64 = 0xcbf2_9ce4_8422_2325
    static let fnvPrime: UInt64 = 0x0000_0100_0000_01b3
    /// Stands for a boundary in the scalar stream (not a valid scalar value).
    static let boundary: UInt32 = 0xFFFF_FFFF

    let minN: Int
    let maxN: Int
    let boundaries: Bool

    init(range: ClosedRange<Int>, boundaries: Bool) {
        let lower = max(1, range.lowerBound)
        minN = lower
        maxN = max(lower, range.upperBound)
        self.boundaries = boundaries
    }

    /// An upper bound on the number of n-grams `forEach` reports for a text of `scalarCount` scalars.
    func capacity(scalarCount: Int) -> Int {
        (scalarCount + (boundaries ? 2 : 0)) * (maxN - minN + 1) + 1
    }

    @inline(__always)
    static func extend(_ hash: UInt64, byte: UInt8) -> UInt64 {
        (hash ^ UInt64(byte)) &* fnvPrime
    }

    /// FNV-1a step over the UTF-8 encoding of `symbol` (or the single byte 0xFF for a boundary).
    @inline(__always)
    static func extend(_ hash: UInt64, symbol: UInt32) -> UInt64 {
        switch symbol {
        case boundary:
            return extend(hash, byte: 0xFF)
        case ..<0x80:
            return extend(hash, byte: UInt8(truncatingIfNeeded: symbol))
        case ..<0x800:
            let h = extend(hash, byte: UInt8(truncatingIfNeeded: 0xC0 | (symbol >> 6)))
            return extend(h, byte: UInt8(truncatingIfNeeded: 0x80 | (symbol & 0x3F)))
        case ..<0x10000:
            var h = extend(hash, byte: UInt8(truncatingIfNeeded: 0xE0 | (symbol >> 12)))
            h = extend(h, byte: UInt8(truncatingIfNeeded: 0x80 | ((symbol >> 6) & 0x3F)))
            return extend(h, byte: UInt8(truncatingIfNeeded: 0x80 | (symbol & 0x3F)))
        default:
            var h = extend(hash, byte: UInt8(truncatingIfNeeded: 0xF0 | (symbol >> 18)))
            h = extend(h, byte: UInt8(truncatingIfNeeded: 0x80 | ((symbol >> 12) & 0x3F)))
            h = extend(h, byte: UInt8(truncatingIfNeeded: 0x80 | ((symbol >> 6) & 0x3F)))
            return extend(h, byte: UInt8(truncatingIfNeeded: 0x80 | (symbol & 0x3F)))
        }
    }

    /// Calls `body` with the hash of every n-gram of `text` (with repetitions, in text order).
    @inline(__always)
    func forEach(in text: String, _ body: (UInt64) -> Void) {
        let maxN = self.maxN, minN = self.minN
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: maxN) { running in
            // running[n-1]: hash of the n-gram ending at the last symbol pushed (valid if n <= seen).
            var seen = 0
            @inline(__always)
            func push(_ symbol: UInt32) {
                var n = min(seen + 1, maxN)
                while n >= 2 {
                    running[n - 1] = IntentNGrams.extend(running[n - 2], symbol: symbol)
                    n -= 1
                }
                running[0] = IntentNGrams.extend(IntentNGrams.fnvOffset, symbol: symbol)
                seen += 1
                let longest = min(seen, maxN)
                if longest >= minN {
                    for n in minN...longest where !(n == 1 && symbol == IntentNGrams.boundary) {
                        body(running[n - 1])
                    }
                }
            }
            if boundaries { push(IntentNGrams.boundary) }
            for scalar in text.unicodeScalars { push(scalar.value) }
            if boundaries { push(IntentNGrams.boundary) }
        }
    }

    /// Sorts without allocating (the standard library's stable sort allocates a small run
    /// stack above 20 elements): insertion sort for message-sized inputs, heapsort beyond.
    static func sortInPlace(_ a: UnsafeMutableBufferPointer<UInt64>) {
        let n = a.count
        if n <= 96 {
            var i = 1
            while i < n {
                let v = a[i]
                var j = i
                while j > 0 && a[j - 1] > v {
                    a[j] = a[j - 1]
                    j -= 1
                }
                a[j] = v
                i += 1
            }
            return
        }
        func siftDown(_ start: Int, _ end: Int) {
            var root = start
            while 2 * root + 1 < end {
                var child = 2 * root + 1
                if child + 1 < end && a[child] < a[child + 1] { child += 1 }
                if a[root] >= a[child] { return }
                a.swapAt(root, child)
                root = child
            }
        }
        var start = n / 2 - 1
        while start >= 0 {
            siftDown(start, n)
            start -= 1
        }
        var end = n - 1
        while end > 0 {
            a.swapAt(0, end)
            siftDown(0, end)
            end -= 1
        }
    }

    /// The distinct n-gram hashes of `text` with their counts, sorted by hash (training side;
    /// this allocates, `IntentVectorizer.analyze` does not).
    func counted(_ text: String) -> [(hash: UInt64, count: Int32)] {
        var hashes: [UInt64] = []
        hashes.reserveCapacity(capacity(scalarCount: text.unicodeScalars.count))
        forEach(in: text) { hashes.append($0) }
        hashes.sort()
        var result: [(hash: UInt64, count: Int32)] = []
        result.reserveCapacity(hashes.count)
        for h in hashes {
            if let last = result.last, last.hash == h {
                result[result.count - 1].count += 1
            } else {
                result.append((h, 1))
            }
        }
        return result
    }
}

// MARK: - Feature table

/// n-gram hash → feature id, open addressing with linear probing, load factor ≤ 1/2.
///
/// Trade-off: a `[UInt64: Int32]` dictionary would do, but its hashing is seeded per process
/// (and re-hashes our already well-mixed keys); two flat arrays probed linearly are
/// deterministic, cache-friendly and allocation-free on lookup.
struct IntentFeatureTable: Sendable {
    /// 0 marks an empty slot; a real hash of 0 is stored as 1 (see `key(_:)`).
    private(set) var keys: [UInt64]
    private(set) var ids: [Int32]
    private(set) var count = 0
    private var mask: Int

    init(minimumCapacity: Int = 16) {
        var size = 16
        while size < 2 * minimumCapacity { size <<= 1 }
        keys = Array(repeating: 0, count: size)
        ids = Array(repeating: -1, count: size)
        mask = size - 1
    }

    @inline(__always)
    private static func key(_ hash: UInt64) -> UInt64 { hash == 0 ? 1 : hash }

    @inline(__always)
    private static func slot(_ key: UInt64, mask: Int) -> Int {
        // FNV-1a's low bits are weakest; fold the high half in.
        Int(truncatingIfNeeded: key ^ (key >> 31)) & mask
    }

    /// The feature id of `hash`, or -1.
    @inline(__always)
    func lookup(_ hash: UInt64) -> Int32 {
        let k = Self.key(hash)
        return keys.withUnsafeBufferPointer { keys in
            var i = Self.slot(k, mask: mask)
            while true {
                let found = keys[i]
                if found == k { return ids[i] }
                if found == 0 { return -1 }
                i = (i + 1) & mask
            }
        }
    }

    /// The id of `hash`, inserting it with id `count` when new.
    mutating func insert(_ hash: UInt64) -> (id: Int32, inserted: Bool) {
        if 2 * (count + 1) > keys.count { grow() }
        let k = Self.key(hash)
        var i = Self.slot(k, mask: mask)
        while true {
            let found = keys[i]
            if found == k { return (ids[i], false) }
            if found == 0 {
                keys[i] = k
                ids[i] = Int32(count)
                count += 1
                return (ids[i], true)
            }
            i = (i + 1) & mask
        }
    }

    private mutating func grow() {
        let oldKeys = keys, oldIDs = ids
        let size = keys.count * 2
        keys = Array(repeating: 0, count: size)
        ids = Array(repeating: -1, count: size)
        mask = size - 1
        for (k, id) in zip(oldKeys, oldIDs) where k != 0 {
            var i = Self.slot(k, mask: mask)
            while keys[i] != 0 { i = (i + 1) & mask }
            keys[i] = k
            ids[i] = id
        }
    }
}

// MARK: - TF-IDF vectorizer

/// Sparse TF-IDF rows (CSR) of a training set.
struct IntentMatrix: Sendable {
    var rowStart: [Int] = [0]
    var columns: [Int32] = []
    var values: [Double] = []
    var rows: Int { rowStart.count - 1 }
}

/// Vocabulary, idf and the weighting of `IntentClassifier`.
///
/// Weighting, as scikit-learn's `TfidfVectorizer(sublinear_tf=True)` so that the numbers in
/// the evaluation compare like with like: tf → 1 + ln tf (a repeated n-gram, e.g. 好好好, must
/// not dominate a short utterance), smooth idf = ln((1 + N) / (1 + df)) + 1 with N examples
/// (n-grams in every example, such as 的, weigh little but never nothing), then L2
/// normalisation over the known n-grams (long and short utterances score on one scale).
struct IntentVectorizer: Sendable {
    let ngrams: IntentNGrams
    let sublinearTF: Bool
    private(set) var table: IntentFeatureTable
    private(set) var idf: [Double]

    var featureCount: Int { idf.count }

    @inline(__always)
    func tf(_ count: Int32) -> Double {
        sublinearTF ? 1 + log(Double(count)) : Double(count)
    }

    /// Learns the vocabulary and idf of `documents` (each the output of `IntentNGrams.counted`)
    /// and returns their L2-normalised TF-IDF rows. Feature ids follow first appearance in the
    /// given order, so the same documents always give the same ids.
    ///
    /// `prior`: take each n-gram's document frequency as at least what `GeneralChinese` says it
    /// is in ordinary Chinese (share × number of documents), so that 吗, 的, 我 weigh little even
    /// when the examples are few.
    init(ngrams: IntentNGrams, sublinearTF: Bool, prior: Bool = false,
         documents: [[(hash: UInt64, count: Int32)]], matrix: inout IntentMatrix) {
        self.ngrams = ngrams
        self.sublinearTF = sublinearTF
        var table = IntentFeatureTable(minimumCapacity: documents.count * 16)
        var df: [Int32] = []
        var featureHashes: [UInt64] = []
        var columns: [Int32] = []
        var rowStart = [0]
        rowStart.reserveCapacity(documents.count + 1)
        for document in documents {
            for (hash, _) in document {
                let (id, inserted) = table.insert(hash)
                if inserted {
                    df.append(0)
                    featureHashes.append(hash)
                }
                df[Int(id)] += 1
                columns.append(id)
            }
            rowStart.append(columns.count)
        }
        let n = Double(documents.count)
        let shares = prior ? GeneralChinese.byHash : [:]
        idf = zip(df, featureHashes).map { count, hash in
            log((1 + n) / (1 + max(Double(count), (shares[hash] ?? 0) * n))) + 1
        }
        self.table = table

        var values = [Double](repeating: 0, count: columns.count)
        for (row, document) in documents.enumerated() {
            let start = rowStart[row]
            var norm = 0.0
            for (j, entry) in document.enumerated() {
                let w = (sublinearTF ? 1 + log(Double(entry.count)) : Double(entry.count))
                    * idf[Int(columns[start + j])]
                values[start + j] = w
                norm += w * w
            }
            if norm > 0 {
                let scale = 1 / norm.squareRoot()
                for j in start..<rowStart[row + 1] { values[j] *= scale }
            }
        }
        matrix = IntentMatrix(rowStart: rowStart, columns: columns, values: values)
    }

    /// Vectorizes `text` and hands its L2-normalised sparse row (feature id, weight) to `body`,
    /// one entry at a time; returns the number of entries (distinct n-grams of the text seen in
    /// some example; n-grams never seen are dropped, as in scikit-learn).
    ///
    /// Allocation: one buffer of n-gram hashes (`withUnsafeTemporaryAllocation`, on the stack
    /// for ordinary message lengths), sorted in place; the known entries are then packed into
    /// the same buffer (feature id and count in one word), so nothing else is needed.
    @inline(__always)
    func analyze(_ text: String, _ body: (Int, Double) -> Void) -> Int {
        let capacity = ngrams.capacity(scalarCount: text.unicodeScalars.count)
        return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: capacity) { hashes in
            var n = 0
            ngrams.forEach(in: text) { h in
                hashes[n] = h
                n += 1
            }
            let used = UnsafeMutableBufferPointer(rebasing: hashes[0..<n])
            IntentNGrams.sortInPlace(used)
            // Run-length over the sorted hashes; entry e (e ≤ i, already read) becomes
            // id << 32 | count.
            var entries = 0
            var norm = 0.0
            var i = 0
            while i < n {
                let h = used[i]
                var j = i + 1
                while j < n && used[j] == h { j += 1 }
                let id = table.lookup(h)
                if id >= 0 {
                    let w = tf(Int32(j - i)) * idf[Int(id)]
                    norm += w * w
                    used[entries] = UInt64(UInt32(id)) << 32 | UInt64(j - i)
                    entries += 1
                }
                i = j
            }
            if entries > 0 {
                let scale = 1 / norm.squareRoot()
                for e in 0..<entries {
                    let id = Int(used[e] >> 32)
                    let count = Int32(truncatingIfNeeded: used[e] & 0xFFFF_FFFF)
                    body(id, tf(count) * idf[id] * scale)
                }
            }
            return entries
        }
    }

    /// Same for a text already hashed and counted (`IntentNGrams.counted`; calibration).
    func analyze(_ document: [(hash: UInt64, count: Int32)], _ body: (Int, Double) -> Void) -> Int {
        var row: [(Int, Double)] = []
        var norm = 0.0
        for (hash, count) in document {
            let id = table.lookup(hash)
            if id >= 0 {
                let w = tf(count) * idf[Int(id)]
                norm += w * w
                row.append((Int(id), w))
            }
        }
        if !row.isEmpty {
            let scale = 1 / norm.squareRoot()
            for (id, w) in row { body(id, w * scale) }
        }
        return row.count
    }
}
