/// The stylesheet of the pages' content (cards, tables, funnels, the chat), shared by the console's
/// layout and `kefu report`'s single file.
public enum PageStyle {
    public static let css = """
        .cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
        .card{background:#fff;border:1px solid #dde3ea;border-radius:8px;padding:12px 16px;min-width:150px}
        .card.small{min-width:90px;padding:8px 12px}
        .card .label{color:#5b6b7f;font-size:13px}
        .card .value{font-size:26px;font-weight:600;margin-top:2px}
        .card.small .value{font-size:20px}
        .note{color:#5b6b7f;font-size:12px}
        table{border-collapse:collapse;margin:8px 0 16px;background:#fff}
        th,td{border:1px solid #dde3ea;padding:5px 9px;text-align:left;vertical-align:top;font-size:14px}
        th{background:#f2f5f8;font-weight:600}
        td.num{text-align:right;font-variant-numeric:tabular-nums}
        td.nowrap{white-space:nowrap}
        table.log td.said,table.log td.reply{max-width:360px;white-space:pre-wrap;word-break:break-word}
        tr.hot td{background:#fff1f0}
        .chart{position:relative;max-width:960px;margin:8px 0 16px}
        .badge{display:inline-block;background:#eef3fb;color:#2f6fde;border-radius:10px;padding:1px 8px;font-size:12px;font-weight:normal}
        .badge.warn{background:#fff4e5;color:#b26a00}
        .group{background:#fff;border:1px solid #dde3ea;border-radius:8px;padding:8px 14px;margin:10px 0}
        .group h3{margin:6px 0}
        pre{background:#f6f8fa;border:1px solid #e3e8ee;border-radius:6px;padding:8px;overflow:auto;font-size:13px}
        pre.wrap{white-space:pre-wrap;word-break:break-word;margin:0;border:none;background:none;padding:0}
        .warn{color:#b26a00}.error{color:#c62828}.ok{color:#1b7f4b}.empty{color:#5b6b7f}
        form.toolbar,form.search{display:flex;flex-wrap:wrap;gap:10px;align-items:center;margin:8px 0 14px}
        form.search input[type=text]{width:150px}
        .chat{max-width:720px}
        .turn{margin:10px 0}
        .turn .said{background:#95ec69;display:inline-block;padding:6px 10px;border-radius:6px;margin-left:40%}
        .turn .bot{background:#fff;border:1px solid #dde3ea;padding:6px 10px;border-radius:6px;margin:6px 30% 2px 0}
        form.say input[type=text]{width:420px;padding:6px}
        form.events{margin:8px 0}
        """
}
