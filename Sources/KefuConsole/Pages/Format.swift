import Foundation
import KefuAnalytics

/// Numbers, shares, times and charts as the pages show them.
enum Format {
    static func count(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return n < 0 ? "-" + out : out
    }

    static func percent(_ share: Double?) -> String {
        guard let share else { return "—" }
        return String(format: "%.1f%%", share * 100)
    }

    static func ms(_ value: Double?) -> String {
        guard let value else { return "—" }
        return value < 10 ? String(format: "%.1f ms", value) : String(format: "%.0f ms", value)
    }

    /// `2026-12-01 14:05` in the rule set's zone.
    static func time(_ unix: Int64, _ days: LocalDays) -> String {
        let day = days.day(of: unix)
        let seconds = unix - days.start(of: day)
        let (h, m) = (seconds / 3600, seconds % 3600 / 60)
        return days.label(day) + " " + (h < 10 ? "0" : "") + "\(h):" + (m < 10 ? "0" : "") + "\(m)"
    }

    /// JSON for a `<script>` (`</` cannot end the script).
    static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
        return text.replacingOccurrences(of: "</", with: "<\\/").replacingOccurrences(of: "\u{2028}", with: "\\u2028")
            .replacingOccurrences(of: "\u{2029}", with: "\\u2029")
    }
}

/// Charts drawn by Chart.js from data embedded in the page (the tables beside them carry the same numbers).
struct Chart {
    struct Dataset: Encodable {
        var label: String
        var data: [Double]
        var backgroundColor: String?
        var borderColor: String?
        var type: String?
        var yAxisID: String?
        var fill: Bool?
    }

    var id: String
    var kind: String  // bar, line
    var labels: [String]
    var datasets: [Dataset]
    var stacked = false
    var horizontal = false
    var percentAxis = false
    var height = 260

    var canvas: String {
        "<div class=\"chart\" data-height=\"\(height)\"><canvas id=\"\(HTML.escape(id))\" role=\"img\" aria-label=\"图表\"></canvas></div>"
    }

    var script: String {
        let scales = """
            {x:{stacked:\(stacked)},y:{stacked:\(stacked),beginAtZero:true\(percentAxis ? ",ticks:{callback:function(v){return v+'%'}}" : "")}}
            """
        return """
            kefuChart(\(Format.json(id)),{type:\(Format.json(kind)),data:{labels:\(Format.json(labels)),datasets:\(Format.json(datasets))},\
            options:{indexAxis:'\(horizontal ? "y" : "x")',responsive:true,maintainAspectRatio:false,animation:false,scales:\(scales),\
            plugins:{legend:{position:'bottom'}}}});
            """
    }

    static let palette = ["#2f6fde", "#22a06b", "#e2a03f", "#d64545", "#8e5bd8", "#5b6b7f", "#1aa3b8", "#c05299"]

    /// Defined once per page: draws if Chart.js loaded, else leaves the note beside the canvas.
    static let prelude = """
        function kefuChart(id,config){var el=document.getElementById(id);if(!el)return;\
        el.parentNode.style.height=(el.parentNode.getAttribute('data-height')||'260')+'px';\
        if(typeof Chart==='undefined'){el.parentNode.textContent='（图表库未加载：安装 libjs-chart.js 后可见图表；下表数字相同）';return;}\
        new Chart(el,config);}
        """
}
