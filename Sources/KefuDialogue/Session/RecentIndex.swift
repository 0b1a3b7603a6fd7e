/// What was seen in the last `window` seconds, in time buckets: remembering costs one hash insert,
/// forgetting drops whole buckets (no sweep over every entry, so no pause that grows with traffic),
/// and the number of entries is capped so memory stays inside a budget whatever the message rate.
///
/// Used for the answers a store has saved (is this message answered already?) and for the signed
/// queries the server has accepted (is this query a replay with another message?). Keys are usually
/// 64-bit digests (``digest(_:)``), so an entry costs about 10–20 bytes, not a string.
///
/// When the cap is reached the oldest bucket goes early and ``complete(since:)`` turns false for
/// times it covered: a caller that needs certainty (a store) then asks its disk.
public struct RecentIndex<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    struct Bucket: Sendable {
        var start: Int64
        var entries: [Key: Value]
    }

    /// Seconds an entry is kept.
    public let window: Int64
    /// Seconds per bucket: entries live between `window` and `window + bucketSeconds`.
    public let bucketSeconds: Int64
    /// At most this many entries are kept (the oldest bucket goes first).
    public let maxEntries: Int
    /// Oldest first; at most `window / bucketSeconds + 2` buckets.
    private var buckets: [Bucket] = []
    public private(set) var count = 0
    /// Entries remembered at or after this time are all still here (unless they expired).
    private var droppedBefore: Int64 = .min
    /// How many buckets the cap has dropped early (for metrics and logs).
    public private(set) var earlyDrops = 0

    public init(window: Int64, maxEntries: Int = .max, buckets: Int64 = 12) {
        self.window = max(window, 1)
        bucketSeconds = max(self.window / max(buckets, 1), 1)
        self.maxEntries = max(maxEntries, 1)
    }

    /// Remembers `key` as seen at `time` (a later insert of the same key in the same bucket wins).
    public mutating func insert(_ key: Key, _ value: Value, at time: Int64) {
        let start = time - ((time % bucketSeconds) + bucketSeconds) % bucketSeconds
        var index = buckets.count - 1
        while index >= 0, buckets[index].start > start { index -= 1 }
        if index >= 0, buckets[index].start == start {
            if buckets[index].entries.updateValue(value, forKey: key) == nil { count += 1 }
        } else {
            buckets.insert(Bucket(start: start, entries: [key: value]), at: index + 1)
            count += 1
        }
        while count > maxEntries, let oldest = buckets.first {
            count -= oldest.entries.count
            droppedBefore = max(droppedBefore, oldest.start + bucketSeconds)
            earlyDrops += 1
            buckets.removeFirst()
        }
    }

    /// The value remembered for `key` in a bucket that may hold entries at or after `since`, newest first.
    /// The bucket granularity means an entry up to `bucketSeconds` older than `since` can be returned.
    public func value(for key: Key, since: Int64) -> Value? {
        var index = buckets.count - 1
        while index >= 0, buckets[index].start + bucketSeconds > since {
            if let value = buckets[index].entries[key] { return value }
            index -= 1
        }
        return nil
    }

    /// True when nothing remembered at or after `since` was dropped by the cap: a miss is then certain.
    public func complete(since: Int64) -> Bool { since >= droppedBefore }

    /// Drops the buckets that lie wholly before `time` (usually `now - window`). Returns how many entries went.
    @discardableResult
    public mutating func expire(before time: Int64) -> Int {
        var dropped = 0
        while let oldest = buckets.first, oldest.start + bucketSeconds <= time {
            dropped += oldest.entries.count
            buckets.removeFirst()
        }
        count -= dropped
        return dropped
    }
}

/// A 64-bit digest of a string, for ``RecentIndex`` keys. Seeded per process (Swift's `Hasher`),
/// so it is only for memory that a process rebuilds itself; a collision only makes a store look at
/// its disk (``RecentIndex`` users confirm a hit), never gives a wrong answer.
public func digest(_ text: String) -> UInt64 {
    var hasher = Hasher()
    hasher.combine(text)
    return UInt64(bitPattern: Int64(hasher.finalize()))
}
