import Foundation
import Testing
@testable import KefuRules

/// `services:` and `call:` as rule files write them: what they load into, every error with its
/// place and hint, the lint warnings, and the JSON value, path and request rendering they rely on.
@Suite("Services and call steps: loading, checks, lint")
struct CallLoaderTests {
    static let services = """
        default: 抱歉
        services:
          erp:
            title: ERP 订单系统
            base: https://erp.example.com/api/
            auth: {bearer: ERP_TOKEN}
            signing: ERP_SIGNING
            timeout: 4s
            retry: 5
            note: 订单系统
          tickets:
            base: http://127.0.0.1:8090
            auth: {header: {X-Api-Key: CRM_KEY}}
            timeout: 800ms
          his:
            base: https://his.example.com/v1
            auth: {basic: {user: kefu, password: HIS_PASSWORD}}

        """

    static let yaml = services + """
        rules:
          - {id: order, when: {contains: [查订单]}, flow: order-status}
          - {id: after-sales, when: {contains: [售后]}, flow: after-sales}
          - id: quick-order
            when: {regex: '查询(?<order>DD\\d{12})'}
            call:
              service: erp
              get: /orders/{{order}}
              save: {status: $.status}
              on:
                ok: 订单 {{order}}：{{status}}
                404: 没有查到订单 {{order}}。
                error: {handoff: 订单系统暂时忙，已为您转人工。}
                slow: 正在查询订单 {{order}}……
        flows:
          order-status:
            steps:
              - slot: order
                ask: 请回复订单号
                expect: {regex: '(?<slot>DD\\d{12})'}
              - call: erp
                get: /orders/{{order}}
                query: {detail: full, who: '{{user.openid}}'}
                wait: 3s
                save: {status: $.status, carrier: $.shipment.carrier, tracking: $.shipment.no, items: '$.items[*].name'}
                map: {status: {SHIPPED: 已发货, CREATED: 待发货}}
                on:
                  ok:
                    - if: {status: 已发货}
                      reply: 订单 {{order}} 已发货：{{carrier}} {{tracking}}。
                    - reply: 订单 {{order}} 当前状态：{{status}}。
                  404: {reply: '没有查到订单 {{order}}，请核对后重新发送。', goto: order}
                  error: 订单系统暂时忙，请稍后再问。
                  slow: 正在为您查询订单 {{order}}，结果稍后发给您。
            done: 还有问题请回复“人工”。（{{status}}）
          after-sales:
            steps:
              - slot: order
                ask: 订单号？
              - call: tickets
                post: /tickets
                body: {order_no: '{{order}}', count: 2, urgent: true, note: null, phone: '13800138000', tags: [售后, '{{order}}'], openid: '{{user.openid}}'}
                save: {ticket: $.ticket_no}
                on:
                  ok: 已登记，工单号 {{ticket}}。
                  409: {reply: 这个订单已经登记过了。, cancel: true}
                  failed: {handoff: 售后系统暂时无法登记，已为您转人工客服。}
              - call: tickets
                patch: /tickets/{{ticket}}
                body: {text: x}
                on:
                  error: {cancel: 没能补充备注。}
            done: 完成，工单 {{ticket}}。

        """

    static func load(_ text: String, directory: String? = nil) throws -> RuleSetSpec {
        try RuleSetLoader.parse(files: [(path: "rules.yaml", text: text)], directory: directory)
    }

    @Test("services, call steps and a rule's call load into the model")
    func loads() throws {
        let spec = try Self.load(Self.yaml)
        #expect(spec.services.map(\.name) == ["erp", "tickets", "his"])
        let erp = spec.services[0], tickets = spec.services[1], his = spec.services[2]
        #expect(erp.title == "ERP 订单系统" && erp.base == ServiceBase(scheme: "https", host: "erp.example.com", path: "/api"))
        #expect(erp.auth == .bearer(secret: "ERP_TOKEN") && erp.signing == "ERP_SIGNING" && erp.timeoutMs == 4000 && erp.attempts == 5)
        #expect(erp.secretNames == ["ERP_TOKEN", "ERP_SIGNING"])
        #expect(tickets.base.port == 8090 && tickets.base.scheme == "http" && tickets.timeoutMs == 800 && tickets.signing == ServiceSpec.defaultSigning)
        #expect(tickets.auth == .header(name: "X-Api-Key", secret: "CRM_KEY") && tickets.title == "tickets" && tickets.attempts == ServiceSpec.defaultAttempts)
        #expect(his.auth == .basic(user: "kefu", secret: "HIS_PASSWORD") && his.timeoutMs == ServiceSpec.defaultTimeoutMs)
        #expect(erp.location.line == 3 && erp.location.column == 3)

        let order = try #require(spec.flows.first { $0.name == "order-status" })
        let lookup = try #require(order.steps[1].call)
        #expect(order.steps[1].name == "call:erp-get" && lookup.id == "erp-get" && lookup.service.value == "erp" && lookup.method == .get)
        #expect(lookup.path.value.source == "/orders/{{order}}" && lookup.body == nil && lookup.waitMs == 3000)
        #expect(lookup.query.map(\.name) == ["detail", "who"] && lookup.query.map(\.value.source) == ["full", "{{user.openid}}"])
        #expect(lookup.save.map(\.slot) == ["status", "carrier", "tracking", "items"])
        #expect(lookup.save[1].path.steps == [.field("shipment"), .field("carrier")])
        #expect(lookup.save[3].path.steps == [.field("items"), .every, .field("name")])
        #expect(lookup.map == ["status": ["SHIPPED": "已发货", "CREATED": "待发货"]])
        #expect(lookup.slow?.source == "正在为您查询订单 {{order}}，结果稍后发给您。")
        #expect(Set(lookup.branches.keys) == [.ok, .status(404), .error])
        let ok = try #require(lookup.branches[.ok]?.value)
        #expect(ok.count == 2 && ok[0].condition["status"]?.map(\.value) == ["已发货"] && ok[1].condition.isEmpty && ok[0].then == .next)
        #expect(ok[0].reply == .text(Template("订单 {{order}} 已发货：{{carrier}} {{tracking}}。")))
        #expect(ok[0].applies(to: ["status": "已发货"]) && !ok[0].applies(to: ["status": "待发货"]))
        #expect(lookup.branches[.status(404)]?.value.first?.then == .goto("order"))
        #expect(lookup.branches[.error]?.value.first?.reply == .text(Template("订单系统暂时忙，请稍后再问。")))

        let afterSales = try #require(spec.flows.first { $0.name == "after-sales" })
        let create = try #require(afterSales.steps[1].call), note = try #require(afterSales.steps[2].call)
        #expect(create.id == "tickets-post" && note.id == "tickets-patch" && create.method == .post && note.method == .patch)
        let body = create.body?.render(["order": "DD1", "user.openid": "o_1"]).json
        #expect(body == #"{"count":2,"note":null,"openid":"o_1","order_no":"DD1","phone":"13800138000","tags":["售后","DD1"],"urgent":true}"#)
        #expect(create.branches[.status(409)]?.value.first?.then == .cancel)
        let failed = try #require(create.branches(for: .failed))
        #expect(failed.outcome == .failed && failed.branches.first?.then == .handoff
                && failed.branches.first?.reply == .text(Template("售后系统暂时无法登记，已为您转人工客服。")))
        let fallback = try #require(note.branches(for: .failed))
        #expect(fallback.outcome == .error && fallback.branches.first?.then == .cancel && fallback.branches.first?.reply == .text(Template("没能补充备注。")))

        // A rule's call: a one-step flow of its own, started by the rule.
        let rule = try #require(spec.rules.first { $0.id == "quick-order" })
        #expect(rule.flow?.value == "rule:quick-order" && rule.reply == nil)
        let ruleFlow = try #require(spec.flows.first { $0.name == "rule:quick-order" })
        #expect(ruleFlow.steps.count == 1 && ruleFlow.steps[0].call?.id == "erp-get" && ruleFlow.done.value == .text(Template("")))
        #expect(ruleFlow.steps[0].call?.branches[.error]?.value.first?.then == .handoff)

        let compiled = try RuleSetCompiler.compile(spec)
        #expect(compiled.flow(named: "rule:quick-order") != nil)
        let warnings = Linter.lint(spec).diagnostics
        #expect(warnings.map(\.code) == ["service-not-called"], "\(warnings.map { $0.render() })")
        #expect(warnings.first?.message.contains("'his'") == true)
    }

    @Test("default ids are <service>-<method>, numbered within a flow; written ids are kept")
    func defaultIDs() throws {
        let steps = ["{call: erp, get: /a, on: {error: 忙}}", "{call: erp, id: second, get: /b, on: {error: 忙}}",
                     "{call: erp, get: /c, on: {error: 忙}}", "{call: erp, get: /d, on: {error: 忙}}"].map { "      - \($0)\n" }.joined()
        let spec = try Self.load(Self.services + "rules:\n  - {id: r, when: {contains: [x]}, flow: f}\nflows:\n  f:\n    steps:\n" + steps + "    done: 好\n")
        #expect(spec.flows[0].steps.compactMap(\.call?.id) == ["erp-get", "second", "erp-get-2", "erp-get-3"])
    }

    // MARK: errors, each with its place and hint

    struct Case: Sendable, CustomTestStringConvertible {
        var code: String
        /// The YAML, with ‸ where the diagnostic points (removed before loading).
        var yaml: String
        var says: String
        var hint: String
        var severity: Diagnostic.Severity = .error
        var testDescription: String { "\(code): \(says)" }
    }

    static func flow(_ steps: String, done: String = "done: 好") -> String {
        services + "rules:\n  - {id: r, when: {contains: [x]}, flow: f}\nflows:\n  f:\n    steps:\n      - {slot: order, ask: 订单号？}\n" + steps + "    \(done)\n"
    }

    static func service(_ body: String) -> String {
        "default: 抱歉\nservices:\n  crm:\n" + body
    }

    static let cases: [Case] = [
        Case(code: "bad-base", yaml: service("    base: ‸ftp://crm.example.com\n"), says: "must start with https://", hint: "base: https://"),
        Case(code: "secret-in-rules", yaml: service("    base: ‸https://kefu:hunter2@crm.example.com\n"), says: "cannot carry a user name or password", hint: "KEFU_SECRET_CRM_PASSWORD"),
        Case(code: "secret-in-rules", yaml: service("    base: https://crm.example.com\n    auth: {bearer: ‸sk_live_51HxQk2eZvKYlo2C}\n"),
             says: "looks like a secret itself", hint: "KEFU_SECRET_CRM_TOKEN"),
        Case(code: "secret-in-rules", yaml: service("    base: https://crm.example.com\n    auth: {bearer: '‸Bearer eyJhbGciOiJIUzI1NiJ9'}\n"),
             says: "looks like a secret itself", hint: "KEFU_SECRET_CRM_TOKEN_FILE"),
        Case(code: "secret-in-rules", yaml: service("    base: https://crm.example.com\n    auth: {header: {X-Api-Key: ‸crm_key}}\n"),
             says: "must be a secret's name in capitals", hint: "KEFU_SECRET_CRM_KEY"),
        Case(code: "secret-in-rules", yaml: service("    base: https://crm.example.com\n    auth: {basic: {user: kefu, password: ‸whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}}\n"),
             says: "looks like a secret itself", hint: "change the secret at the service too"),
        Case(code: "secret-in-rules", yaml: service("    base: https://crm.example.com\n    ‸token: abc123\n"), says: "would hold a secret", hint: "KEFU_SECRET_<NAME>"),
        Case(code: "secret-in-rules", yaml: service("    base: https://crm.example.com\n    auth: {bearer: CRM_TOKEN, ‸api_key: x}\n"), says: "would hold a secret", hint: "auth: {bearer: CRM_TOKEN}"),
        Case(code: "secret-in-rules", yaml: service("    base: https://crm.example.com\n    auth: ‸abcdef0123456789\n"), says: "must say how and name the secret", hint: "{bearer: CRM_TOKEN}"),
        Case(code: "secret-in-rules", yaml: service("    base: https://crm.example.com\n    signing: '‸3q2+7w=='\n"), says: "signing of service 'crm' looks like a secret", hint: "KEFU_SECRET_"),
        Case(code: "secret-in-rules", yaml: service("    base: https://crm.example.com\n    auth: {bearer: ‸AKIAIOSFODNN7EXAMPLE}\n"), says: "looks like a secret itself", hint: "KEFU_SECRET_CRM_TOKEN"),
        Case(code: "secret-in-rules", yaml: service("    base: https://crm.example.com\n    auth: {bearer: ‸sk_live_abc}\n"), says: "looks like a secret itself", hint: "KEFU_SECRET_CRM_TOKEN"),
        Case(code: "bad-auth", yaml: service("    base: https://crm.example.com\n    auth: ‸{bearer: A, basic: {user: u, password: B}}\n"), says: "has one form", hint: "{bearer: CRM_TOKEN}"),
        Case(code: "unknown-key", yaml: service("    base: https://crm.example.com\n    auth: {‸oauth: X}\n"), says: "unknown key 'oauth'", hint: "bearer"),
        Case(code: "bad-duration", yaml: service("    base: https://crm.example.com\n    timeout: ‸20s\n"), says: "timeout is 20s, longer than 15s", hint: "at most 15s"),
        Case(code: "bad-duration", yaml: service("    base: https://crm.example.com\n    timeout: ‸2 seconds\n"), says: "such as 800ms, 2s or 1.5s", hint: "ms or s"),
        Case(code: "bad-retry", yaml: service("    base: https://crm.example.com\n    retry: ‸50\n"), says: "from 1 to 20, not 50", hint: "retry: 8"),
        Case(code: "missing-key", yaml: service("    ‸title: 客户系统\n"), says: "needs 'base'", hint: "base: https://"),
        Case(code: "missing-sample", yaml: service("    base: https://crm.example.com\n    sample: ‸samples/none.json\n"), says: "'samples/none.json' is not in the rule-set folder", hint: "save a response"),
        Case(code: "bad-sample", yaml: service("    base: https://crm.example.com\n    sample: ‸samples/broken.json\n"), says: "is not JSON", hint: "UTF-8 JSON"),
        Case(code: "bad-sample", yaml: service("    base: https://crm.example.com\n    sample: ‸../secrets.json\n"), says: "inside the rule-set folder", hint: "samples/erp-order.json"),

        Case(code: "missing-key", yaml: flow("      - ‸{call: erp, on: {error: 忙}}\n"), says: "needs a method and path", hint: "get: /orders/{{order}}"),
        Case(code: "several-methods", yaml: flow("      - {call: erp, get: /a, ‸post: /b, on: {error: 忙}}\n"), says: "one request, not get and post", hint: "post: /tickets"),
        Case(code: "bad-path", yaml: flow("      - {call: erp, get: '‸orders/{{order}}', on: {error: 忙}}\n"), says: "must start with '/'", hint: "get: /orders/{{order}}"),
        Case(code: "bad-path", yaml: flow("      - {call: erp, get: '‸/orders?id={{order}}', on: {error: 忙}}\n"), says: "cannot carry a query", hint: "query:"),
        Case(code: "body-on-read", yaml: flow("      - {call: erp, get: /a, ‸body: {a: 1}, on: {error: 忙}}\n"), says: "a GET has no body", hint: "post:"),
        Case(code: "wait-over-budget", yaml: flow("      - {call: erp, get: /a, wait: ‸6s, on: {error: 忙}}\n"), says: "wait is 6s, longer than 4.5s", hint: "slow:"),
        Case(code: "bad-duration", yaml: flow("      - {call: erp, get: /a, wait: ‸soon, on: {error: 忙}}\n"), says: "such as 800ms", hint: "ms or s"),
        Case(code: "bad-json-path", yaml: flow("      - {call: erp, get: /a, save: {s: ‸status}, on: {error: 忙}}\n"), says: "a path starts with $", hint: "$.shipment.carrier"),
        Case(code: "bad-json-path", yaml: flow("      - {call: erp, get: /a, save: {s: '$.items‸[x]'}, on: {error: 忙}}\n"), says: "must be a number", hint: "[*]"),
        Case(code: "bad-json-path", yaml: flow("      - {call: erp, get: /a, save: {s: $.a‸.}, on: {error: 忙}}\n"), says: "followed by a field name", hint: "$."),
        Case(code: "map-not-saved", yaml: flow("      - {call: erp, get: /a, save: {status: $.status}, map: {‸statu: {A: 甲}}, on: {error: 忙}}\n"),
             says: "does not save 'statu'", hint: "did you mean 'status'?"),
        Case(code: "call-without-error", yaml: flow("      - {call: erp, get: /a, on: ‸{ok: 好}}\n"), says: "when the system is down", hint: "error: 系统暂时忙"),
        Case(code: "call-without-error", yaml: flow("      - ‸{call: erp, get: /a}\n"), says: "it needs on: error:", hint: "error:"),
        Case(code: "call-without-error", yaml: flow("      - {call: tickets, post: /t, on: ‸{ok: 好, 409: 重复}}\n"), says: "it needs on: error: or failed:", hint: "failed: runs when the retries ran out"),
        Case(code: "failed-on-read", yaml: flow("      - {call: erp, get: /a, on: {error: 忙, ‸failed: 失败}}\n"), says: "a GET is not retried", hint: "under error:"),
        Case(code: "unknown-outcome", yaml: flow("      - {call: erp, get: /a, on: {error: 忙, ‸4xx: 没有}}\n"), says: "'4xx' is not an outcome", hint: "404:"),
        Case(code: "unknown-outcome", yaml: flow("      - {call: erp, get: /a, on: {error: 忙, ‸okk: 好}}\n"), says: "'okk' is not an outcome", hint: "did you mean 'ok'?"),
        Case(code: "unknown-outcome", yaml: flow("      - {call: erp, get: /a, on: {error: 忙, ‸700: 好}}\n"), says: "'700' is not an outcome", hint: "or a status such as 404"),
        Case(code: "unknown-key", yaml: flow("      - {call: erp, get: /a, ‸slow: 稍等, on: {error: 忙}}\n"), says: "unknown key 'slow'", hint: "write it under on:"),
        Case(code: "unknown-key", yaml: flow("      - {call: erp, get: /a, on: {error: {reply: 忙, ‸continue: true}}}\n"), says: "unknown key 'continue'", hint: "reply"),
        Case(code: "several-moves", yaml: flow("      - {call: erp, get: /a, on: {error: {goto: order, ‸cancel: true}}}\n"), says: "one way, not goto and cancel", hint: "handoff: transfers"),
        Case(code: "several-replies", yaml: flow("      - {call: erp, get: /a, on: {error: {reply: 忙, ‸handoff: 已转人工}}}\n"), says: "a reply: and a text under handoff:", hint: "handoff: true"),
        Case(code: "wrong-type", yaml: flow("      - {call: erp, get: /a, on: {error: {cancel: ‸false}}}\n"), says: "must be true or the text to say", hint: "remove cancel:"),
        Case(code: "branch-without-if", yaml: flow("      - call: erp\n        get: /a\n        save: {s: $.s}\n        on:\n          error: 忙\n          ok:\n            - ‸reply: 好\n            - {if: {s: A}, reply: 甲}\n"),
             says: "entry 1 of on.ok has no if:", hint: "move it to the end"),
        Case(code: "empty-value", yaml: flow("      - {call: erp, get: /a, on: {error: 忙, slow: '‸'}}\n"), says: "on.slow is empty", hint: "write the text"),
        Case(code: "duplicate-step-id", yaml: flow("      - {call: erp, id: look, get: /a, on: {error: 忙}}\n      - ‸{call: erp, id: look, get: /b, on: {error: 忙}}\n"),
             says: "two calls with id 'look'", hint: "idempotency key"),
        Case(code: "secret-in-rules", yaml: flow("      - {call: erp, get: /a, query: {‸access_token: abc}, on: {error: 忙}}\n"), says: "would put a secret in the rule file", hint: "auth:"),
        Case(code: "bad-id", yaml: service("    base: https://crm.example.com\n") + "flows:\n  ‸rule:x:\n    steps:\n      - {slot: a, ask: b}\n    done: c\n",
             says: "cannot start with 'rule:'", hint: "after-sales"),

        // Found when compiling: names across the rule set.
        Case(code: "unknown-service", yaml: flow("      - {call: ‸ERP, get: /a, on: {error: 忙}}\n"), says: "calls service 'ERP', which is not declared", hint: "did you mean 'erp'?"),
        Case(code: "unknown-step", yaml: flow("      - {call: erp, get: /a, on: {error: {reply: 忙, ‸goto: ordr}}}\n"), says: "has no step with slot: ordr", hint: "did you mean 'order'?"),
        Case(code: "unknown-variable", yaml: flow("      - {call: erp, get: '‸/orders/{{oder}}', on: {error: 忙}}\n"), says: "uses {{oder}}, which is not a slot", hint: "did you mean 'order'?"),
        Case(code: "unknown-variable", yaml: flow("      - {call: erp, get: '‸/orders/{{status}}', save: {status: $.s}, on: {error: 忙}}\n"),
             says: "saved only when this call's answer comes", hint: "use it in the on: branches"),
        Case(code: "unknown-variable", yaml: flow("      - {call: erp, get: /a, save: {status: $.s}, on: {error: 忙, ‸slow: '查询 {{status}}'}}\n"),
             says: "the slow: text of the call 'erp-get' in flow 'f' uses {{status}}", hint: "on: branches"),
        Case(code: "unknown-variable", yaml: flow("      - {call: erp, get: /a, on: {error: 忙}}\n      - {call: erp, get: /b, save: {s: $.s}, on: {error: 忙}}\n", done: "‸done: '{{t}}'"),
             says: "the done reply of flow 'f' uses {{t}}", hint: "did you mean 's'?"),
        Case(code: "unknown-variable", yaml: flow("      - {call: erp, get: /a, on: {error: 忙}}\n      - {call: erp, get: '‸/b/{{s}}', on: {error: 忙}}\n      - {call: erp, get: /c, save: {s: $.s}, on: {error: 忙}}\n"),
             says: "saved only by a later call", hint: "move the call that saves 's'"),
        Case(code: "unknown-variable", yaml: flow("      - {call: erp, get: /a, on: {error: '‸{{user.openid}} 忙'}}\n"),
             says: "only {{user.openid}} is known, and only in a call's path", hint: "{{user.openid}}"),
        Case(code: "unknown-slot", yaml: flow("      - call: erp\n        get: /a\n        save: {status: $.s}\n        on:\n          error: 忙\n          ok:\n            - {if: {‸stauts: A}, reply: 甲}\n            - 乙\n"),
             says: "needs 'stauts'", hint: "did you mean 'status'?"),
        Case(code: "slot-before-asked", yaml: flow("      - {call: erp, get: '‸/a/{{phone}}', on: {error: 忙}}\n      - {slot: phone, ask: 手机？, expect: mobile}\n"),
             says: "'phone' is asked only after the call", hint: "move the step"),

        // A rule's call.
        Case(code: "missing-key", yaml: services + "rules:\n  - id: q\n    when: {contains: [x]}\n    call: ‸{get: /a, on: {error: 忙}}\n", says: "needs service:", hint: "call: {service: erp"),
        Case(code: "wrong-type", yaml: services + "rules:\n  - id: q\n    when: {contains: [x]}\n    call: ‸erp\n", says: "must be a mapping", hint: "with the service under service:"),
        Case(code: "several-replies", yaml: services + "rules:\n  - id: q\n    when: {contains: [x]}\n    reply: 好\n    ‸call: {service: erp, get: /a, on: {error: 忙}}\n",
             says: "has call: and reply:", hint: "on: branches"),
        Case(code: "unknown-step", yaml: services + "rules:\n  - id: q\n    when: {contains: [x]}\n    call: {service: erp, get: /a, on: {error: {reply: 忙, ‸goto: order}}}\n",
             says: "rule 'q' has no step with slot: order", hint: "cancel:, handoff: or a reply"),
        Case(code: "unknown-variable", yaml: services + "rules:\n  - id: q\n    when: {regex: '查(?<order>DD\\d+)'}\n    call: {service: erp, get: '‸/o/{{ordr}}', on: {error: 忙}}\n",
             says: "uses {{ordr}}", hint: "did you mean 'order'?"),
    ]

    /// The codes this suite tests: the cases, and the tests of their own below.
    static let coveredCodes = Set(cases.map(\.code)).union(["duplicate-service", "save-path-not-in-sample", "service-not-called", "wait-over-timeout", "expires-before-call"])

    static let fixture: String = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-call-fixture-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: folder + "/samples", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: folder + "/samples/broken.json", contents: Data("{\"status\": ".utf8))
        FileManager.default.createFile(atPath: folder + "/samples/order.json", contents: Data("""
            {"status": "SHIPPED", "shipment": {"carrier": "顺丰", "no": "SF1"}, "items": [{"name": "杯子", "qty": 1}, {"name": "盘子"}], "ok": true}
            """.utf8))
        return folder
    }()

    /// Where ‸ stands (1-based line and column, in characters) and the text without it.
    static func marked(_ text: String) -> (text: String, line: Int, column: Int) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (i, line) in lines.enumerated() {
            if let at = line.firstIndex(of: "‸") { return (text.replacingOccurrences(of: "‸", with: ""), i + 1, line.distance(from: line.startIndex, to: at) + 1) }
        }
        return (text, 0, 0)
    }

    @Test("each error has its code, place and hint", arguments: cases)
    func error(_ c: Case) throws {
        let (text, line, column) = Self.marked(c.yaml)
        let found = diagnostics(text, directory: Self.fixture)
        let match = found.first { $0.code == c.code && $0.message.contains(c.says) }
        let d = try #require(match, "expected [\(c.code)] “\(c.says)”, got:\n\(found.map { $0.render() }.joined(separator: "\n"))")
        #expect(d.severity == c.severity)
        #expect(d.location.line == line && d.location.column == column, "at \(d.location), expected \(line):\(column): \(d.render(source: text))")
        #expect(d.hint?.contains(c.hint) == true, "hint: \(d.hint ?? "none")")
    }

    @Test("a service declared in two files")
    func duplicateService() throws {
        let found = diagnostics(Self.service("    base: https://crm.example.com\n"), other: "services:\n  crm: {base: 'https://b.example.com'}\n")
        let d = try #require(found.first { $0.code == "duplicate-service" }, "\(found.map { $0.render() })")
        #expect(d.location.file == "b.yaml" && d.location.line == 2 && d.location.column == 3)
        #expect(d.message.contains("already declared at rules.yaml:3:3") && d.hint?.contains("declare each service once") == true)
    }

    @Test("a secret pasted into a rule file is never repeated in the diagnostics")
    func secretsNotRepeated() {
        let secrets = ["sk_live_51HxQk2eZvKYlo2C", "SK_LIVE", "sk_live_abc", "Bearer eyJhbGciOiJIUzI1NiJ9", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "hunter2", "abc123x9"]
        let yaml = Self.service("    base: https://kefu:hunter2@crm.example.com\n    auth: {bearer: 'Bearer eyJhbGciOiJIUzI1NiJ9'}\n    token: abc123x9\n")
            + "  b:\n    base: https://b.example.com\n    auth: {bearer: sk_live_51HxQk2eZvKYlo2C}\n"
            + "  d:\n    base: https://d.example.com\n    auth: {header: {X-Key: sk_live_abc}}\n"
            + "  c:\n    base: https://c.example.com\n    signing: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"
        let found = diagnostics(yaml)
        #expect(found.filter { $0.code == "secret-in-rules" }.count == 6, "\(found.map { $0.render() })")
        for d in found {
            for secret in secrets { #expect(!d.render().contains(secret), "\(d.render())") }
        }
    }

    @Test("the runnable example of docs/rules.md section 13 lints without an error or a warning")
    func docsExample() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let doc = try String(contentsOf: root.appendingPathComponent("docs/rules.md"), encoding: .utf8)
        let section = try #require(doc.components(separatedBy: "## 13. ").dropFirst().first)
        // The first three blocks: services.yaml, order.yaml, samples/erp-order.json.
        let blocks = section.components(separatedBy: "```").enumerated().filter { $0.offset % 2 == 1 }.map(\.element).prefix(3)
        #expect(blocks.count == 3)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kefu-docs-call-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder + "/samples", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for (name, block) in zip(["services.yaml", "order.yaml", "samples/erp-order.json"], blocks) {
            let body = block.split(separator: "\n", maxSplits: 1).dropFirst().first.map(String.init) ?? ""  // after ```yaml
            try body.write(toFile: folder + "/" + name, atomically: true, encoding: .utf8)
        }
        let report = Linter.lint(directory: folder)
        #expect(report.diagnostics.isEmpty, "\(report.diagnostics.map { $0.render() }.joined(separator: "\n"))")
        let spec = try RuleSetLoader.load(directory: folder)
        #expect(spec.services.first?.sampleBody != nil && spec.flows.contains { $0.name == "rule:order-by-number" })
    }

    // MARK: lint

    @Test("save paths are checked against the service's sample")
    func savePaths() throws {
        let yaml = """
            default: 抱歉
            services:
              erp: {base: 'https://erp.example.com', sample: samples/order.json}
            rules:
              - {id: r, when: {contains: [x]}, flow: f}
            flows:
              f:
                steps:
                  - call: erp
                    get: /o
                    save:
                      status: $.status
                      carrier: $.shipment.carier
                      first: '$.items[0].name'
                      last: '$.items[-1].qty'
                      names: '$.items[*].name'
                      third: '$.items[2]'
                      deep: $.status.code
                      flag: $.ok
                    on: {error: 忙, ok: '{{status}}{{carrier}}{{first}}{{last}}{{names}}{{third}}{{deep}}{{flag}}'}
                done: 好
            """
        let found = diagnostics(yaml, directory: Self.fixture)
        let misses = found.filter { $0.code == "save-path-not-in-sample" }
        #expect(found.filter { $0.severity == .error }.isEmpty, "\(found.map { $0.render() })")
        #expect(misses.count == 4, "\(misses.map { $0.render() })")
        let carrier = try #require(misses.first { $0.message.hasPrefix("save.carrier") })
        #expect(carrier.message.contains("$.shipment has no field 'carier' (it has carrier, no); did you mean 'carrier'?"))
        #expect(carrier.location.line == 13 && carrier.location.column == 11 && carrier.severity == .warning)
        #expect(misses.contains { $0.message.contains("$.items[-1] has no field 'qty' (it has name)") })
        #expect(misses.contains { $0.message.contains("$.items is a list of 2, which has no [2]") })
        #expect(misses.contains { $0.message.contains("$.status is the text \"SHIPPED\", not an object with a field 'code'") })
    }

    @Test("timing warnings: wait over the service's timeout, a flow that expires before its call ends")
    func timing() {
        let yaml = """
            default: 抱歉
            services:
              erp: {base: 'https://erp.example.com', timeout: 10s}
              slow: {base: 'https://slow.example.com', timeout: 1s}
            rules:
              - {id: r, when: {contains: [x]}, flow: f}
            flows:
              f:
                expires: 5s
                steps:
                  - {call: erp, get: /a, on: {error: 忙}}
                  - {call: slow, get: /b, wait: 3s, on: {error: 忙}}
                done: 好
            """
        let codes = diagnostics(yaml).map(\.code)
        #expect(codes.sorted() == ["expires-before-call", "wait-over-timeout"], "\(codes)")
    }

    // MARK: JSON values, paths and rendering

    @Test("JSON parsing: escapes, surrogate pairs, numbers, nesting limit, strictness")
    func jsonParsing() {
        #expect(JSONValue.parse(Array(#"{"a":"x\"y\\z\/\n\t\u00e9\u4e2d"}"#.utf8)) == .object(["a": .string("x\"y\\z/\n\té中")]))
        #expect(JSONValue.parse(Array(#""\ud83d\ude00""#.utf8)) == .string("😀"))
        #expect(JSONValue.parse(Array(#""\ud83d""#.utf8)) == nil, "a lone high surrogate")
        #expect(JSONValue.parse(Array(#""\ude00""#.utf8)) == nil, "a lone low surrogate")
        #expect(JSONValue.parse(Array(#""\ud83d\u0041""#.utf8)) == nil, "a high surrogate followed by a non-surrogate")
        #expect(JSONValue.parse(Array("[-0.5, 12, 1e3, 2E-2, 0]".utf8)) == .array([.number(-0.5), .number(12), .number(1000), .number(0.02), .number(0)]))
        #expect(JSONValue.parse(Array(" {\"a\" : [ true , false , null ] } ".utf8)) == .object(["a": .array([.bool(true), .bool(false), .null])]))
        for bad in ["", "{", "[1,]", "{\"a\":1,}", "{'a':1}", "\"tab\there\"", "tru", "1 2", "{\"a\"}", "[1] x", "\"\\x\""] {
            #expect(JSONValue.parse(Array(bad.utf8)) == nil, "\(bad)")
        }
        #expect(JSONValue.parse(Array((String(repeating: "[", count: 64) + String(repeating: "]", count: 64)).utf8)) != nil)
        #expect(JSONValue.parse(Array((String(repeating: "[", count: 65) + String(repeating: "]", count: 65)).utf8)) == nil, "nested deeper than 64")
        #expect(JSONValue.parse([0x22, 0xFF, 0x22]) == nil, "not UTF-8")
        #expect(JSONValue.object(["b": .number(2), "a": .array([.string("x\"\n\u{1}"), .null, .bool(true), .number(1.5)])]).json
                == #"{"a":["x\"\n\u0001",null,true,1.5],"b":2}"#)
        #expect(JSONValue.number(42).slotText == "42" && JSONValue.null.slotText == nil && JSONValue.bool(false).slotText == "false")
    }

    @Test("JSON paths: fields, quoted names, [0], [-1], [*] joined with 、, and what they refuse")
    func jsonPaths() throws {
        let doc = try #require(JSONValue.parse(Array(#"{"a": {"b c": 1, "list": [{"n": "x"}, {"n": "y"}, {"m": 3}]}, "s": "t"}"#.utf8)))
        func text(_ path: String) throws -> String? { try JSONPath.parse(path).get().text(in: doc) }
        #expect(try text("$.s") == "t")
        #expect(try text("$.a['b c']") == "1")
        #expect(try text("$.a[\"b c\"]") == "1")
        #expect(try text("$.a.list[0].n") == "x")
        #expect(try text("$.a.list[-1].m") == "3")
        #expect(try text("$.a.list[-4]") == nil)
        #expect(try text("$.a.list[*].n") == "x、y")
        #expect(try text("$.a.list[*].z") == nil)
        #expect(try text("$.missing") == nil)
        #expect(try text("$.s.x") == nil)
        #expect(try text("$.a.list[0]") == #"{"n":"x"}"#)
        #expect(try JSONPath.parse("$").get().select(doc) == doc)
        for (bad, offset) in [("a.b", 0), ("$.", 1), ("$.a..b", 3), ("$[x]", 1), ("$[0", 1), ("$a", 1), ("$[*].a[*]", 0), ("$.a b", 2)] {
            guard case .failure(let error) = JSONPath.parse(bad) else { Issue.record("\(bad) parsed"); continue }
            #expect(error.offset == offset, "\(bad): \(error.message)")
        }
    }

    @Test("rendering URL-encodes slot values: a value cannot change the path or add a query")
    func rendering() throws {
        let spec = try Self.load(Self.yaml)
        let call = try #require(spec.flows.first { $0.name == "order-status" }?.steps[1].call)
        let request = call.render(["order": "../x?y=1&z=2#f", "user.openid": "o/1 2"])
        #expect(request.path == "/orders/%2E%2E%2Fx%3Fy%3D1%26z%3D2%23f")
        #expect(request.path.hasPrefix("/orders/") && !request.path.dropFirst(8).contains("/") && !request.path.contains("?"))
        #expect(request.query == ["detail=full", "who=o%2F1%202"])
        #expect(request.body == nil)
        #expect(call.render(["order": "中文 DD1"]).path == "/orders/%E4%B8%AD%E6%96%87%20DD1")
        #expect(URLEncoding.component("a-b_c~d.e") == "a-b_c~d%2Ee")
    }

    @Test("how a result picks its branch: exact status, ok (2xx with JSON or 204), failed then error, error")
    func outcomes() throws {
        let spec = try Self.load(Self.yaml)
        let lookup = try #require(spec.flows.first { $0.name == "order-status" }?.steps[1].call)
        let keys = Set(lookup.branches.keys)
        #expect(CallResult(.response(status: 200, body: .object([:]))).outcome(among: keys) == .ok)
        #expect(CallResult(.response(status: 204, body: nil)).outcome(among: keys) == .ok)
        #expect(CallResult(.response(status: 200, body: nil)).outcome(among: keys) == .error, "2xx that is not JSON")
        #expect(CallResult(.response(status: 404, body: nil)).outcome(among: keys) == .status(404))
        #expect(CallResult(.response(status: 500, body: .null)).outcome(among: keys) == .error)
        #expect(CallResult(.timeout).outcome(among: keys) == .error)
        #expect(CallResult(.gaveUp(attempts: 8, last: "503")).outcome(among: keys) == .failed)
        #expect(lookup.branches(for: .failed)?.outcome == .error, "failed falls back to error")
    }
}
