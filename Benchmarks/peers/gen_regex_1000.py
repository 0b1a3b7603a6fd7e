"""Writes 1000 customer-service regexes (one PCRE pattern a line) for the regex-1000 workload.

  python3 gen_regex_1000.py KEYWORDS_10K OUT_FILE

Deterministic: the same keywords file gives the same patterns byte for byte (a fixed seed, no
set/hash ordering). Mix: 250 order numbers (many shop/platform prefixes), 100 phone formats,
150 tracking numbers (carrier codes and names), 100 dates/times, 100 amounts, 300 keyword
alternations with Chinese words drawn from keywords-10k.txt. Every pattern is plain PCRE that
PCRE2 (UTF|UCP) compiles and that avoids what Hyperscan refuses (no lookaround, no
backreferences, no \\b, small bounded repeats).
"""
import random
import sys

SEED = 20240607
META = set("\\^$.|?*+()[]{}#-/ ")


def esc(word):
    """A literal as PCRE text; ASCII punctuation becomes \\xHH, so it reads the same in Hyperscan."""
    return "".join("\\x%02x" % ord(c) if c in META or (ord(c) < 128 and not c.isalnum()) else c for c in word)


def alt(words):
    return "(?:" + "|".join(esc(w) for w in words) + ")"


class Patterns:
    def __init__(self):
        self.items = {}

    def add(self, p):
        if p not in self.items:
            self.items[p] = None
            return True
        return False

    def fill(self, target, make):
        start = len(self.items)
        guard = 0
        while len(self.items) - start < target:
            self.add(make())
            guard += 1
            if guard > target * 200:
                raise SystemExit(f"could not make {target} distinct patterns")


ORDER_WORDS = ["订单", "单号", "订单号", "订单编号", "订单号码", "我的订单", "售后单", "退货单", "退款单", "工单"]
ORDER_PREFIXES = ["DD", "SO", "WX", "TB", "JD", "PDD", "MT", "ELM", "KS", "DY", "XHS", "VIP", "SN", "GM",
                  "YHD", "DJ", "OR", "PO", "INV", "RMA", "RET", "REF", "AF", "SH", "TK", "HK", "CS", "MO",
                  "ST", "BK", "YZ", "WD", "QM", "XY", "ZZ", "LX", "MS", "HM", "BJ", "GZ"]
MOBILE_SEGMENTS = ["130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "145", "147", "149",
                   "150", "151", "152", "153", "155", "156", "157", "158", "159", "162", "165", "166", "167",
                   "170", "171", "172", "173", "175", "176", "177", "178", "180", "181", "182", "183", "184",
                   "185", "186", "187", "188", "189", "190", "191", "192", "193", "195", "196", "197", "198",
                   "199"]
AREA_CODES = ["010", "020", "021", "022", "023", "024", "025", "027", "028", "029", "0311", "0351", "0371",
              "0431", "0451", "0471", "0531", "0551", "0571", "0591", "0731", "0771", "0851", "0871", "0898",
              "0755", "0769", "0757", "0512", "0532"]
PHONE_WORDS = ["电话", "手机", "手机号", "联系方式", "联系电话", "号码", "座机", "客服电话", "收货电话", "tel"]
CARRIERS = [  # (name, code, digits)
    ("顺丰", "SF", "\\d{12,15}"), ("圆通", "YT", "\\d{13}"), ("中通", "ZTO", "\\d{12}"),
    ("申通", "STO", "\\d{12,13}"), ("韵达", "YD", "\\d{13,15}"), ("京东", "JD[VX]?", "\\d{12,15}"),
    ("极兔", "JT", "\\d{13}"), ("邮政", "EMS", "\\d{13}"), ("德邦", "DPK", "\\d{12}"),
    ("百世", "BS", "\\d{12,14}"), ("天天", "TT", "\\d{12}"), ("宅急送", "ZJS", "\\d{10,12}"),
    ("优速", "UC", "\\d{12}"), ("丹鸟", "DN", "\\d{13}"), ("菜鸟", "CN", "\\d{12,16}"),
]
TRACK_WORDS = ["快递", "物流", "运单", "快递单号", "物流单号", "运单号", "包裹"]
TRACK_TAILS = ["到哪了", "查不到", "没更新", "一直没动", "显示签收", "丢了", "太慢", "被退回", "派送中", "没收到"]
DATE_VERBS = ["预约", "到店", "送货", "发货", "上门", "安装", "取件", "退货", "换货", "自提", "维修", "配送"]
DATE_SEPS1 = ["-", "/", "\\.", "年"]
DATE_SEPS2 = ["-", "/", "\\.", "月"]
DAY_WORDS = ["今天", "明天", "后天", "大后天", "周末", "下周", "这周", "月底", "月初"]
AMOUNT_WORDS = ["价格", "多少钱", "付了", "退款", "运费", "差价", "定金", "尾款", "优惠", "实付", "总价",
                "补差价", "返现", "红包", "押金", "保价", "退回", "扣了", "收了", "少退了"]
UNITS = ["元", "块", "块钱", "rmb", "RMB", "人民币"]
ASK_OPENERS = ["请问", "您好", "你好", "在吗", "亲", "客服", "麻烦问下", "想问一下"]
ASK_TAILS = ["多少钱", "价格", "有货吗", "怎么卖", "能便宜吗", "还有吗", "什么时候到", "怎么用", "包邮吗", "能退吗",
             "质量怎么样", "有优惠吗"]
ACTIONS = ["退", "换", "买", "用", "修", "寄", "补发", "退款", "开发票", "改地址"]
MODALS = ["怎么", "如何", "能不能", "可以", "有没有", "能否", "要怎么", "是否可以"]


def generate(keywords):
    rng = random.Random(SEED)
    words = [w for w in keywords if len(w) >= 2]
    pats = Patterns()

    def pick(seq):
        return seq[rng.randrange(len(seq))]

    # 250 order numbers: many prefixes, each in several shapes.
    def order():
        p = pick(ORDER_PREFIXES)
        lo = rng.randrange(8, 14)
        hi = lo + rng.randrange(0, 4)
        shape = rng.randrange(7)
        if shape == 0:
            return f"{p}\\d{{{lo},{hi}}}"
        if shape == 1:
            return f"{alt(rng.sample(ORDER_WORDS, 3))}[:：]?\\s*{p}\\d{{{lo},{hi}}}"
        if shape == 2:
            return f"{p}-?\\d{{4}}-?\\d{{{lo - 4},{hi - 4}}}"
        if shape == 3:
            return f"{p}20\\d{{2}}[01]\\d[0-3]\\d\\d{{{lo - 6},{hi - 6}}}"
        if shape == 4:
            return f"(?i){p.lower()}[-_]?\\d{{{lo},{hi}}}"
        if shape == 5:
            return f"{p}\\d{{{min(lo, 10)}}}[A-Z]{{2}}\\d{{2,4}}"
        return f"{alt(rng.sample(ORDER_WORDS, 2))}.{{0,6}}{p}?\\d{{{lo},{hi}}}"

    pats.fill(250, order)

    # 100 phone formats.
    def phone():
        shape = rng.randrange(8)
        if shape == 0:
            return f"{pick(MOBILE_SEGMENTS)}\\d{{8}}"
        if shape == 1:
            seg = pick(MOBILE_SEGMENTS)
            sep = pick(["-", " ", "\\s?", "[- ]?"])
            sep = esc(sep) if sep in ("-", " ") else sep
            return f"{seg}{sep}\\d{{4}}{sep}\\d{{4}}"
        if shape == 2:
            return f"(?:\\+?86)[- ]?1{pick(['[3-9]', '3', '5', '8', '[78]', '[35]'])}\\d{{9}}"
        if shape == 3:
            a = pick(AREA_CODES)
            return f"{a}-?\\d{{{7 if len(a) == 4 else 8}}}"
        if shape == 4:
            return f"\\(?{pick(AREA_CODES)}\\)?[- ]?\\d{{7,8}}"
        if shape == 5:
            return f"{pick(['400', '800'])}-?\\d{{3}}-?\\d{{4}}"
        if shape == 6:
            return f"{alt(rng.sample(PHONE_WORDS, 3))}[:：]?\\s*{pick(['1[3-9]', '1[35]', '1[78]', '1[3-9]'])}\\d{{9}}"
        return f"{alt(rng.sample(PHONE_WORDS, 2))}[:：]?\\s*0\\d{{2,3}}-?\\d{{7,8}}"

    pats.fill(100, phone)

    # 150 tracking numbers.
    def tracking():
        name, code, digits = pick(CARRIERS)
        shape = rng.randrange(6)
        if shape == 0:
            return f"{code}{digits}"
        if shape == 1:
            return f"{name}(?:快递|物流|速运)?{alt(rng.sample(TRACK_WORDS, 2))}?[:：]?\\s*(?:{code})?{digits}"
        if shape == 2:
            return f"{name}.{{0,8}}{alt(rng.sample(TRACK_TAILS, 3))}"
        if shape == 3:
            return f"{alt(rng.sample(TRACK_WORDS, 2))}.{{0,10}}{alt(rng.sample(TRACK_TAILS, 2))}"
        if shape == 4:
            return f"E[A-Z]\\d{{9}}{pick(['CN', 'HK', 'US', 'JP', 'KR', 'SG'])}"
        return f"(?i){code.lower()}[-_ ]?{digits}"

    pats.fill(150, tracking)

    # 100 dates and times.
    def date():
        shape = rng.randrange(8)
        if shape == 0:
            i = rng.randrange(len(DATE_SEPS1))
            return f"20\\d{{2}}{DATE_SEPS1[i]}\\d{{1,2}}{DATE_SEPS2[i]}\\d{{1,2}}[日号]?"
        if shape == 1:
            return f"{pick(DATE_VERBS)}.{{0,6}}\\d{{1,2}}月\\d{{1,2}}[日号]"
        if shape == 2:
            return f"{pick(DATE_VERBS)}.{{0,6}}(?:周|星期|礼拜)[一二三四五六日天]"
        if shape == 3:
            return f"{alt(rng.sample(DAY_WORDS, 3))}.{{0,4}}{pick(DATE_VERBS)}"
        if shape == 4:
            return f"(?:上午|下午|晚上|中午|早上)\\s*\\d{{1,2}}(?:点|[:：]\\d{{2}})(?:半|\\d{{1,2}}分)?"
        if shape == 5:
            return f"{pick(DATE_VERBS)}.{{0,8}}\\d{{1,2}}[:：]\\d{{2}}"
        if shape == 6:
            return f"{pick(DATE_VERBS)}.{{0,6}}{alt(rng.sample(DAY_WORDS, 2))}"
        return f"\\d{{1,2}}{pick(['月', '/', '-'])}\\d{{1,2}}.{{0,4}}{pick(DATE_VERBS)}"

    pats.fill(100, date)

    # 100 amounts.
    def amount():
        shape = rng.randrange(6)
        if shape == 0:
            return f"{pick(['[¥￥]', '¥', '￥', '(?:RMB|CNY)'])}\\s*\\d{{1,{rng.randrange(4, 8)}}}(?:\\.\\d{{1,2}})?"
        if shape == 1:
            return f"\\d+(?:\\.\\d{{1,2}})?\\s*{alt(rng.sample(UNITS, 2))}"
        if shape == 2:
            return f"{pick(AMOUNT_WORDS)}[:：]?\\s*\\d+(?:\\.\\d{{1,2}})?"
        if shape == 3:
            return f"{pick(AMOUNT_WORDS)}.{{0,6}}\\d+(?:\\.\\d{{1,2}})?\\s*{pick(UNITS)}"
        if shape == 4:
            return f"{pick(['满', '每满'])}\\d{{2,4}}{pick(['减', '立减', '返'])}\\d{{1,3}}"
        return f"{pick(['退', '返', '补', '赔'])}\\s*\\d{{1,5}}\\s*{pick(UNITS)}"

    pats.fill(100, amount)

    # 300 keyword alternations with words from keywords-10k.
    def keyword():
        shape = rng.randrange(5)
        if shape == 0:
            return alt(rng.sample(words, rng.randrange(3, 9)))
        if shape == 1:
            return f"{alt(rng.sample(words, 2))}.{{0,4}}{alt(rng.sample(MODALS, 2))}.{{0,6}}{alt(rng.sample(ACTIONS, 2))}"
        if shape == 2:
            return f"{alt(rng.sample(ASK_OPENERS, 2))}.{{0,10}}{alt(rng.sample(words, 3))}"
        if shape == 3:
            return f"{alt(rng.sample(words, 3))}.{{0,8}}{alt(rng.sample(ASK_TAILS, 3))}"
        return f"{esc(pick(words))}.{{0,12}}{alt(rng.sample(words, 2))}"

    pats.fill(300, keyword)

    out = list(pats.items)
    assert len(out) == 1000, len(out)
    return out


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: gen_regex_1000.py KEYWORDS_10K OUT_FILE")
    with open(sys.argv[1], encoding="utf-8") as f:
        keywords = [l.strip() for l in f if l.strip()]
    with open(sys.argv[2], "w", encoding="utf-8", newline="\n") as f:
        for p in generate(keywords):
            assert "\n" not in p
            f.write(p + "\n")


if __name__ == "__main__":
    main()
