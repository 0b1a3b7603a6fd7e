/// Which of several matching rules answers. The order, applied step by step (and printed by
/// `kefu explain` for each rule that lost):
///
/// 1. Higher `priority` wins (default 0).
/// 2. By kind: `exact`, then `regex`, then `contains`, then `intent`.
/// 3. Within a kind, the more specific match: the longer keyword (in characters) for `contains`,
///    the longer matched text for `regex`, the higher score for `intent`; for events, an exact key or
///    scene before a pattern (`MENU_*`), and a pattern before "any".
/// 4. The rule declared first (files by name, then top to bottom).
public enum Precedence {
    public static func precedes(_ a: RuleMatch, _ b: RuleMatch) -> Bool {
        if a.priority != b.priority { return a.priority > b.priority }
        if a.kind.rank != b.kind.rank { return a.kind.rank < b.kind.rank }
        if a.specificity != b.specificity { return a.specificity > b.specificity }
        if let sa = a.score, let sb = b.score, sa != sb { return sa > sb }
        return a.order < b.order
    }

    /// Why `loser` ranks below `winner`, in the words of the list above.
    public static func reason(_ loser: RuleMatch, lostTo winner: RuleMatch) -> String {
        if loser.priority != winner.priority {
            return "lower priority (\(loser.priority) < \(winner.priority))"
        }
        if loser.kind.rank != winner.kind.rank {
            return "\(loser.kind.rawValue) ranks below \(winner.kind.rawValue)"
        }
        if loser.specificity != winner.specificity {
            switch loser.kind {
            case .contains: return "shorter keyword (\(loser.specificity) < \(winner.specificity) characters)"
            case .regex: return "shorter match (\(loser.specificity) < \(winner.specificity) bytes)"
            default: return "less specific (\(loser.specificity) < \(winner.specificity))"
            }
        }
        if let sl = loser.score, let sw = winner.score, sl != sw {
            return "lower intent score (\(format(sl)) < \(format(sw)))"
        }
        return "declared later (rule \(loser.order + 1) vs \(winner.order + 1))"
    }

    static func format(_ x: Double) -> String {
        let scaled = (x * 100).rounded() / 100
        return String(scaled)
    }
}
