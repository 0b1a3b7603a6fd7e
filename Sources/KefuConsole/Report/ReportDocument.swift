import Foundation
import KefuAnalytics

/// `kefu report`: the console's analytics as ONE HTML file, for people who never open the console.
/// Everything is inside it — the stylesheet, the data, Chart.js itself (with its licence) — so it
/// opens anywhere, offline, and can be mailed. Users never appear in it: the unanswered examples
/// are what customers wrote, with phone numbers masked.
public enum ReportDocument {
    public static func html(_ report: Report, title: String, chartLibrary: ChartLibrary?, days: LocalDays, warnings: [(code: String, location: String, message: String)] = []) -> String {
        let sections: [(String, String, Section)] = [
            ("overview", "概览", Sections.overview(report)),
            ("unresolved", "未解决", Sections.unresolved(report, now: report.generatedAt, days: days) { Mask.phoneNumbers(in: $0) }),
            ("flows", "流程", Sections.flows(report)),
            ("rules", "规则", Sections.rules(report, warnings: warnings)),
        ]
        var body = "<header><h1>\(HTML.escape(title)) · 客服报告</h1><p class=\"note\">\(report.from) 至 \(report.through)，生成于 \(Format.time(report.generatedAt, days))。"
            + "数字来自 Kefu 的对话记录。</p><nav>" + sections.map { "<a href=\"#\($0.0)\">\($0.1)</a>" }.joined(separator: " · ") + "</nav></header>"
        var script = Chart.prelude
        for (id, name, section) in sections {
            body += "<section id=\"\(id)\"><h1>\(name)</h1>\(section.html)</section>"
            script += section.script
        }
        let library: String
        if let chartLibrary {
            library = "<script>/*! \(chartLibrary.name): \(chartLibrary.licenseLine) */\n" + chartLibrary.source.replacingOccurrences(of: "</script", with: "<\\/script") + "</script>"
        } else {
            library = ""
        }
        return """
            <!DOCTYPE html>
            <html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
            <title>\(HTML.escape(title)) · 客服报告 \(report.from)–\(report.through)</title>
            <style>body{font-family:"Noto Sans CJK SC","WenQuanYi Zen Hei","PingFang SC","Microsoft YaHei",sans-serif;margin:24px;color:#1f2a37;background:#f7f9fb}
            section{margin-top:28px}nav a{margin-right:6px}\(PageStyle.css)</style>
            </head><body>
            \(body)
            \(library)
            <script>\(script)</script>
            \(chartLibrary.map { "<footer class=\"note\">图表由 \(HTML.escape($0.name)) 绘制（\(HTML.escape($0.licenseLine))），已嵌入本文件。</footer>" } ?? "<footer class=\"note\">没有找到 Chart.js（apt install libjs-chart.js），本报告只有表格。</footer>")
            </body></html>
            """
    }
}

extension ChartLibrary {
    /// The library's source, for inlining.
    var source: String { String(decoding: script, as: UTF8.self) }
    /// `Chart.js v3.9.1`, from its header comment.
    var name: String { source.prefix(300).range(of: #"Chart\.js v[0-9.]+"#, options: .regularExpression).map { String(source[$0]) } ?? "Chart.js" }
    var licenseLine: String { "(c) Chart.js Contributors, MIT License" }
}
