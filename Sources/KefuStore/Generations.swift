/// A bounded cache in two generations: entries go into the young one; when it is full the old one
/// is dropped and the young one becomes old. A hit in the old generation moves the entry back to
/// the young one, so what is in use stays. Every operation is a hash look-up or two — no sweep, no
/// moment where the whole cache is emptied — and at most `2 × capacity` entries are kept.
struct Generations<Key: Hashable, Value> {
    private var young: [Key: Value] = [:]
    private var old: [Key: Value] = [:]
    let capacity: Int

    init(capacity: Int) { self.capacity = max(capacity, 1) }

    var count: Int { young.count + old.count }

    subscript(key: Key) -> Value? {
        mutating get {
            if let value = young[key] { return value }
            guard let value = old.removeValue(forKey: key) else { return nil }
            set(value, for: key)
            return value
        }
        set {
            if let newValue { set(newValue, for: key) } else { young[key] = nil; old[key] = nil }
        }
    }

    private mutating func set(_ value: Value, for key: Key) {
        if young.updateValue(value, forKey: key) == nil {
            old[key] = nil
            if young.count >= capacity {
                old = young
                young = [:]
            }
        }
    }
}
