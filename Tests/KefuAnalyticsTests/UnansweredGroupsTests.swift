import Foundation
import KefuAnalytics
import KefuRules
import KefuTestSupport
import Testing

/// Builds messages as the log would hold them: normalized by Kefu's normalizer (default settings).
private let normalizer = Normalizer()

private func message(_ text: String, user: String, time: Int64, declined: String? = nil) -> UnansweredMessage {
    UnansweredMessage(text: text, normalized: normalizer.normalize(text).string, user: user, time: time,
                      reason: declined.map { .declinedIntent($0) } ?? .defaultReply)
}

/// A shop's unanswered week (written for these tests): invoice and return questions, one-off noise, and as the
/// rest of the traffic (what makes 发票 and 退货 rare overall, as in a real log) the CrossWOZ questions below.
private let invoice = ["能开发票吗？", "可以开发票吗", "怎么开发票", "发票怎么开？", "我要开发票", "开个发票", "发票能开吗",
                       "请问可以开发票吗？", "能开增值税发票吗", "我想申请发票", "补开发票怎么弄", "开发票要多久"]
private let returns = ["我要退货", "怎么退货", "退货怎么弄", "可以退货吗", "退货地址是哪里", "想退货怎么办", "退货流程是什么",
                       "申请退货", "不想要了能退货吗", "收到了想退货"]
private let noise = ["你们老板是谁", "今天天气怎么样", "哈哈哈哈", "我在上班", "有没有优惠券"]

private func shopWeek() -> [UnansweredMessage] {
    var messages: [UnansweredMessage] = []
    var time: Int64 = 1_796_000_000
    for (k, text) in invoice.enumerated() { messages.append(message(text, user: "o_inv_\(k % 9)", time: time)); time += 60 }
    for (k, text) in returns.enumerated() {
        messages.append(message(text, user: "o_ret_\(k)", time: time, declined: k < 3 ? "unlikeExamples" : nil)); time += 60
    }
    for (k, text) in noise.enumerated() { messages.append(message(text, user: "o_noise_\(k)", time: time)); time += 60 }
    // The two most asked, again, later.
    messages.append(message("能开发票吗？", user: "o_inv_0", time: time)); time += 60
    messages.append(message("能开发票吗", user: "o_inv_late", time: time))
    for (k, text) in crossWOZ.enumerated() { messages.append(message(text.text, user: "o_woz_\(k % 40)", time: 1_795_000_000 + Int64(k))) }
    return messages
}

/// CrossWOZ (Zhu et al., TACL 2020, "CrossWOZ: A Large-Scale Chinese Cross-Domain Task-Oriented Dialogue Dataset";
/// Apache License 2.0, Corpora/intents/crosswoz with its LICENSE): 1,200 user turns asking for one attribute of a
/// place (电话, 地址, 营业时间 …), read from the repository, not copied.
private let crossWOZ: [(text: String, label: String)] = {
    let file = TestSupport.root.appendingPathComponent("Corpora/intents/crosswoz/ask-slot-dev.tsv")
    let lines = (try? String(contentsOf: file, encoding: .utf8))?.split(separator: "\n").dropFirst() ?? []
    return lines.map { line in
        let fields = line.split(separator: "\t").map(String.init)
        return (fields[1], fields[2])
    }
}()

private func group(containing text: String, in groups: [UnansweredGroup]) -> UnansweredGroup? {
    let normalized = normalizer.normalize(text).string
    return groups.first { $0.normalizedTexts.contains(normalized) }
}

@Suite("未解决: grouping unanswered messages")
struct UnansweredGroupsTests {
    @Test("发票 questions form one group, 退货 questions another; noise stays apart; counts, users, times, declined")
    func invoicesAndReturns() throws {
        let messages = shopWeek()
        let groups = UnansweredGrouping.groups(messages)
        let invoiceGroup = try #require(group(containing: "能开发票吗", in: groups))
        let returnGroup = try #require(group(containing: "我要退货", in: groups))
        #expect(invoiceGroup != returnGroup)
        // At least 10 of the 12 invoice texts (+2 repeats) in the invoice group; no return text in it and vice versa.
        let invoiceNormalized = Set(invoice.map { normalizer.normalize($0).string })
        let returnNormalized = Set(returns.map { normalizer.normalize($0).string })
        #expect(invoiceGroup.normalizedTexts.filter(invoiceNormalized.contains).count >= 10, "\(invoiceGroup.normalizedTexts)")
        #expect(invoiceGroup.normalizedTexts.allSatisfy { !returnNormalized.contains($0) })
        #expect(returnGroup.normalizedTexts.filter(returnNormalized.contains).count >= 8, "\(returnGroup.normalizedTexts)")
        #expect(returnGroup.normalizedTexts.allSatisfy { !invoiceNormalized.contains($0) })
        #expect(invoiceGroup.keywords.first == "发票")
        #expect(returnGroup.keywords.first == "退货")
        // Biggest first.
        #expect(zip(groups, groups.dropFirst()).allSatisfy { $0.count >= $1.count })
        // Counts from the group's own texts: each normalized text's messages, their users, first and last time.
        let members = messages.filter { invoiceGroup.normalizedTexts.contains($0.normalized) }
        #expect(invoiceGroup.count == members.count)
        #expect(invoiceGroup.users == Set(members.map(\.user)).count)
        #expect(invoiceGroup.firstSeen == members.map(\.time).min())
        #expect(invoiceGroup.lastSeen == members.map(\.time).max())
        #expect(invoiceGroup.declined == 0)
        #expect(invoiceGroup.examples.first == "能开发票吗？", "the most frequent text as sent comes first: \(invoiceGroup.examples)")
        #expect(invoiceGroup.examples.count == 5 && Set(invoiceGroup.examples).count == 5)
        #expect(invoiceGroup.covered == invoiceGroup.count)
        // Three of the return questions were declined intents.
        let returnMembers = messages.filter { returnGroup.normalizedTexts.contains($0.normalized) }
        #expect(returnGroup.declined == returnMembers.filter { $0.reason != .defaultReply }.count)
        #expect(returnGroup.declined == 3)
        // No one-off noise message is merged into a big group: each stays alone or with one look-alike
        // (有没有优惠券 meets the CrossWOZ turn 电话多少？我问问有优惠没？ — both ask about 优惠).
        let everyGroup = UnansweredGrouping.groups(messages, limit: .max)
        for text in noise {
            let g = try #require(group(containing: text, in: everyGroup), "\(text)")
            #expect(g.count <= 2, "\(text) was grouped with \(g.normalizedTexts)")
        }
        #expect(try #require(group(containing: "你们老板是谁", in: everyGroup)).count == 1)
        #expect(try #require(group(containing: "今天天气怎么样", in: everyGroup)).count == 1)
        // Every message is in exactly one group.
        #expect(everyGroup.reduce(0) { $0 + $1.count } == messages.count)
    }

    @Test("the suggested rule compiles with Kefu's loader and answers the group's messages")
    func ruleSuggestionCompiles() throws {
        let groups = UnansweredGrouping.groups(shopWeek(), limit: 20)
        for g in groups {
            let spec = try RuleSetLoader.parse(files: [(path: "suggested.yaml", text: g.ruleSuggestion)])
            let rules = try RuleSetCompiler.compile(spec)
            #expect(rules.rules.map(\.id) == [g.ruleID])
            #expect(Linter.lint(spec).diagnostics.filter { $0.severity == .error }.isEmpty)
            // Every message of the group that contains a keyword is answered by the suggested rule.
            var answered = 0
            for text in g.normalizedTexts where g.keywords.contains(where: text.contains) {
                #expect(rules.match(.text(text)).winner?.ruleID == g.ruleID, "\(text) in \(g.ruleSuggestion)")
                answered += 1
            }
            #expect(answered >= 1)
        }
        let invoiceGroup = try #require(group(containing: "能开发票吗", in: groups))
        #expect(invoiceGroup.ruleSuggestion.contains("when: {contains: [发票]}"), "\(invoiceGroup.ruleSuggestion)")
        #expect(invoiceGroup.ruleSuggestion.contains("reply: \"（在这里写回复）\""))
    }

    @Test("the intent suggestion compiles: a rule `when: {intent: …}` and the group's texts as its examples")
    func intentSuggestionCompiles() throws {
        let groups = UnansweredGrouping.groups(shopWeek())
        let returnGroup = try #require(group(containing: "我要退货", in: groups))
        let spec = try RuleSetLoader.parse(files: [(path: "suggested.yaml", text: returnGroup.intentSuggestion)])
        let rules = try RuleSetCompiler.compile(spec)
        #expect(spec.intents.map(\.name) == [returnGroup.ruleID])
        let examples = spec.intents[0].examples.map(\.value)
        #expect(examples.count == min(10, returnGroup.normalizedTexts.count))
        #expect(examples.first == "我要退货")
        #expect(rules.intentClassifier != nil)
        #expect(Linter.lint(spec).diagnostics.filter { $0.severity == .error }.isEmpty)
    }

    @Test("texts with YAML syntax in them (: # quotes backslashes newlines, yes/null/numbers) are quoted and read back unchanged")
    func quoting() throws {
        let tricky = ["wifi: 密码是多少 #急", "wifi密码是\"多少\"", "wifi 密码 'admin'", "wifi\\密码\n忘了", "*wifi密码", "- wifi 密码？"]
        var messages = tricky.enumerated().map { message($1, user: "o\($0)", time: Int64($0)) }
        messages += ["yes", "yes yes", "null", "12345678"].enumerated().map { message($1, user: "p\($0)", time: 100 + Int64($0)) }
        let groups = UnansweredGrouping.groups(messages)
        let wifi = try #require(group(containing: tricky[0], in: groups))
        #expect(wifi.count == tricky.count, "\(groups.map(\.normalizedTexts))")
        #expect(wifi.keywords.contains("wifi"))
        // One example per distinct normalized text (*wifi密码 and "- wifi 密码？" both normalize to wifi密码), read back as sent.
        let spec = try RuleSetLoader.parse(files: [(path: "i.yaml", text: wifi.intentSuggestion)])
        let readBack = spec.intents[0].examples.map(\.value)
        #expect(readBack.count == Set(tricky.map { normalizer.normalize($0).string }).count)
        #expect(readBack.count == 5)
        #expect(readBack.allSatisfy(tricky.contains), "\(wifi.intentSuggestion)")
        #expect(readBack.contains("wifi: 密码是多少 #急") && readBack.contains("wifi\\密码\n忘了") && readBack.contains("wifi密码是\"多少\""))
        _ = try RuleSetCompiler.compile(spec)
        for g in groups {
            let rules = try RuleSetCompiler.compile(RuleSetLoader.parse(files: [(path: "r.yaml", text: g.ruleSuggestion)]))
            for text in g.normalizedTexts where g.keywords.contains(where: text.contains) {
                #expect(rules.match(.text(text)).winner?.ruleID == g.ruleID, "\(text) in \(g.ruleSuggestion)")
            }
            _ = try RuleSetCompiler.compile(RuleSetLoader.parse(files: [(path: "i.yaml", text: g.intentSuggestion)]))
        }
    }

    @Test("keywords grow to the run the group shares: 七天无理由, 开发票 when every message says it")
    func longerRuns() throws {
        let sevenDays = ["支持七天无理由吗", "七天无理由退货可以吗", "有七天无理由吗？", "七天无理由怎么申请", "是七天无理由的吗"]
        let openInvoice = ["怎么开发票", "可以开发票吗", "开发票要什么资料", "在哪开发票"]
        var messages = sevenDays.enumerated().map { message($1, user: "a\($0)", time: Int64($0)) }
        messages += openInvoice.enumerated().map { message($1, user: "b\($0)", time: 10 + Int64($0)) }
        let groups = UnansweredGrouping.groups(messages)
        #expect(try #require(group(containing: sevenDays[0], in: groups)).keywords == ["七天无理由"], "\(groups.map(\.keywords))")
        #expect(try #require(group(containing: openInvoice[0], in: groups)).keywords == ["开发票"])
        #expect(try #require(group(containing: sevenDays[0], in: groups)).ruleID == "七天无理由")
    }

    @Test("identical normalized texts collapse: 能开发票吗 / 能開發票嗎？ / 能开发票吗!! are one text, three messages")
    func collapse() throws {
        let messages = [message("能开发票吗", user: "u1", time: 30), message("能開發票嗎？", user: "u2", time: 10),
                        message("能开发票吗!!", user: "u1", time: 20), message("！！", user: "u3", time: 40)]
        let groups = UnansweredGrouping.groups(messages)
        #expect(groups.count == 1, "a message that normalizes to nothing is left out")
        let g = try #require(groups.first)
        #expect(g.count == 3 && g.users == 2 && g.firstSeen == 10 && g.lastSeen == 30)
        #expect(g.normalizedTexts == ["能开发票吗"])
        #expect(g.examples.count == 3)
    }

    @Test("limit, empty input, biggest first")
    func limitAndOrder() {
        #expect(UnansweredGrouping.groups([]).isEmpty)
        #expect(UnansweredGrouping.groups(shopWeek(), limit: 0).isEmpty)
        let three = UnansweredGrouping.groups(shopWeek(), limit: 3)
        #expect(three.count == 3)
        #expect(three == Array(UnansweredGrouping.groups(shopWeek()).prefix(3)))
        #expect(three[0].count >= three[1].count && three[1].count >= three[2].count)
        // Rule ids are unique among the groups shown.
        let all = UnansweredGrouping.groups(shopWeek())
        #expect(Set(all.map(\.ruleID)).count == all.count)
    }

    /// The big groups of the CrossWOZ questions should each ask mostly for one thing. 周边景点 / 周边餐馆 / 周边酒店
    /// count as one label here: their texts share 周边 and one `contains: 周边` rule answers them all.
    @Test("CrossWOZ ask-slot questions: the ten biggest groups are at least 75 % one label, 营业时间 and 评分 keywords found")
    func crossWOZGroups() throws {
        #expect(crossWOZ.count > 1000)
        var label: [String: String] = [:]
        var messages: [UnansweredMessage] = []
        for (k, row) in crossWOZ.enumerated() {
            let m = message(row.text, user: "u\(k % 50)", time: Int64(k))
            label[m.normalized] = row.label.hasPrefix("周边") ? "周边" : row.label
            messages.append(m)
        }
        let groups = UnansweredGrouping.groups(messages, limit: 10)
        #expect(groups.count == 10)
        var pure = 0, total = 0
        for g in groups {
            var counts: [String: Int] = [:]
            for text in g.normalizedTexts { counts[label[text] ?? "?", default: 0] += 1 }
            pure += counts.values.max() ?? 0
            total += g.normalizedTexts.count
        }
        #expect(Double(pure) >= 0.75 * Double(total), "\(pure) of \(total)")
        let all = UnansweredGrouping.groups(messages)
        #expect(all.contains { $0.keywords.contains("营业时间") })
        #expect(all.contains { $0.keywords.contains("评分") })
    }
}
