/// One rule folder with a mistake of every stage (typing, form, compile, slot order, lint) across
/// two files: what "one lint run reports everything" is tested on, by the loader (KefuRulesTests)
/// and by `kefu lint` / `kefu match` (KefuCLITests).
public enum BrokenRuleFiles {
    public static let files: [(name: String, text: String)] = [
        ("a.yaml", """
            default: 抱歉
            rules:
              - id: booking
                when: {contains: [订座，订位，订桌]}
                flow: booking
              - id: hours
                when：{contains: [营业时间]}
                reply: 每天 10:00-22:00
              - id: order
                when: {regex: "订单\\d+"}
                reply: 查到了
              - id: bad
                when: {regex: '(?<n>\\d+'}
                reply: y
              - id: hours-again
                when: {contains: [营业时间, 几点开门]}
                reply: 10 点
            　- id: menu
                when: {contains: [菜单]}
                reply: 见图

            """),
        ("b.yaml", """
            flows:
              booking:
                steps:
                  - {slot: shop, ask: 哪家店？, expect: {choice: [国贸店, 三里屯店]}}
                  - {slot: time, ask: '想订{{shop}}哪天几点？{{party}}位？', expect: datetime}
                  - {slot: party, ask: 几位？, expect: number}
                  - {slot: room, if: {partys: '> 10'}, ask: 要包间吗？, expect: {choice: [要, 不要]}}
                done: 已为您预约 {{shop}} {{time}} {{party}}位
              other:
                expires: 30 minutes
                steps: [{slot: a, ask: q}]
                done: ok

            """),
    ]
}
