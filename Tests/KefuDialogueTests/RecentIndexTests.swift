import Testing
@testable import KefuDialogue

@Suite("RecentIndex: time buckets and a cap")
struct RecentIndexTests {
    @Test("entries are found within the window, expire by whole buckets, and never outlive window + one bucket")
    func expiry() {
        var index = RecentIndex<UInt64, Int>(window: 100, buckets: 10)  // 10 s buckets
        #expect(index.bucketSeconds == 10)
        for t in Int64(0)..<50 { index.insert(UInt64(t), Int(t), at: t) }
        #expect(index.count == 50)
        #expect(index.value(for: 7, since: 0) == 7)
        #expect(index.value(for: 7, since: 20) == nil, "a bucket wholly before `since` is not searched")
        #expect(index.value(for: 12, since: 15) == 12, "the bucket granularity may return an entry a little older than since")
        #expect(index.expire(before: 25) == 20, "buckets [0,10) and [10,20) go; [20,30) straddles and stays")
        #expect(index.value(for: 19, since: .min) == nil && index.value(for: 20, since: .min) == 20)
        #expect(index.count == 30)
        #expect(index.expire(before: 1_000) == 30 && index.count == 0)
    }

    @Test("inserts out of order go into their own bucket; the same key twice counts once")
    func order() {
        var index = RecentIndex<String, Int>(window: 60, buckets: 6)
        index.insert("b", 2, at: 35)
        index.insert("a", 1, at: 5)
        index.insert("b", 3, at: 36)
        #expect(index.count == 2)
        #expect(index.value(for: "a", since: 0) == 1 && index.value(for: "b", since: 0) == 3)
        #expect(index.expire(before: 10) == 1 && index.value(for: "a", since: .min) == nil)
    }

    @Test("the cap drops the oldest bucket early and says which times are no longer complete")
    func cap() {
        var index = RecentIndex<UInt64, Bool>(window: 100, maxEntries: 25, buckets: 10)
        #expect(index.complete(since: 0))
        for t in Int64(0)..<30 { index.insert(UInt64(t), true, at: t) }
        #expect(index.count <= 25)
        #expect(index.earlyDrops == 1)
        #expect(index.value(for: 3, since: .min) == nil)
        #expect(!index.complete(since: 5), "a miss for times the cap dropped is not certain")
        #expect(index.complete(since: 10))
    }

    @Test("digests are stable within a process and differ for different keys")
    func digests() {
        #expect(digest("gh|o1|1|100") == digest("gh|o1|1|100"))
        #expect(digest("gh|o1|1|100") != digest("gh|o1|2|100"))
    }
}
