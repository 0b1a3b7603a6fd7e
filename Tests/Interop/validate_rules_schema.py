#!/usr/bin/env python3
"""Checks docs/kefu-rules.schema.json, the JSON Schema editors use for Kefu rule files.

1. Every Rules/**/*.yaml (and .yml) file must be valid against the schema. Each violation is
   printed as  file:line:col: path: message  and the script exits 1.
2. A few deliberately wrong documents (unknown key, two conditions in one `when`, a reply with
   two forms, `message: pdf`, …) must be REJECTED by the schema, and a few unusual but correct
   ones ACCEPTED, so that the schema neither lets mistakes through nor flags good files.
3. When a built `kefu` is found (KEFU=path, else .build/debug/kefu, .build-docs/debug/kefu),
   `kefu lint` must agree on each of those documents: the schema and the loader reject and
   accept the same things, except where the schema is knowingly stricter or looser (marked below).

YAML is read the way the VS Code YAML extension reads it (YAML 1.2 core schema: only
true/false are booleans, no timestamps), and duplicate keys are reported, as both the
extension and kefu do.

    python3 -m venv /tmp/schema-venv
    /tmp/schema-venv/bin/pip install -r Tests/Interop/requirements.txt
    /tmp/schema-venv/bin/python Tests/Interop/validate_rules_schema.py
    /tmp/schema-venv/bin/python Tests/Interop/validate_rules_schema.py Rules/shop my.yaml   # only these
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "docs" / "kefu-rules.schema.json"
RULES = ROOT / "Rules"


# --- YAML as the editor sees it ------------------------------------------------------------

class Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema booleans and no timestamps (PyYAML is YAML 1.1,
    where `yes`, `on` and `2024-01-01` are not text)."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


class Problem(Exception):
    def __init__(self, line: int, column: int, message: str):
        super().__init__(message)
        self.line, self.column, self.message = line, column, message


def load(text: str):
    """The document's value and a map from JSON path (tuple of str) to (line, column), 1-based."""
    loader = Yaml12Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        positions: dict[tuple[str, ...], tuple[int, int]] = {}
        duplicates: list[Problem] = []

        def walk(n, path):
            positions[path] = (n.start_mark.line + 1, n.start_mark.column + 1)
            if isinstance(n, yaml.MappingNode):
                seen = set()
                for key, value in n.value:
                    name = str(key.value)
                    if name in seen:
                        duplicates.append(Problem(key.start_mark.line + 1, key.start_mark.column + 1,
                                                  f"{'/'.join(path) or '(top)'}: duplicate key '{name}'"))
                    seen.add(name)
                    walk(value, path + (name,))
            elif isinstance(n, yaml.SequenceNode):
                for i, item in enumerate(n.value):
                    walk(item, path + (str(i),))

        walk(node, ())
        if duplicates:
            raise duplicates[0]
        return string_keys(loader.construct_document(node)), positions
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise Problem(mark.line + 1 if mark else 1, mark.column + 1 if mark else 1, f"YAML: {error.problem or error}") from None
    finally:
        loader.dispose()


def string_keys(value):
    """JSON object keys are text: `404:` (an int to PyYAML) is the key "404", as the editor reads it."""
    if isinstance(value, dict):
        return {str(k): string_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [string_keys(v) for v in value]
    return value


# --- Schema ---------------------------------------------------------------------------------

def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def most_specific(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For an anyOf failure, the alternative that came closest: the one that got deepest into the
    value, and among those not a plain type mismatch (`message: pdf` is a wrong name, not a wrong
    type); jsonschema's best match breaks the remaining ties."""
    while error.context:
        deepest = max(len(e.path) for e in error.context)
        candidates = [e for e in error.context if len(e.path) == deepest]
        candidates = [e for e in candidates if e.validator != "type"] or candidates
        error = jsonschema.exceptions.best_match(candidates)
    return error


def violations(check: jsonschema.Draft7Validator, text: str) -> list[tuple[int, int, str]]:
    """Every schema violation of one document, as (line, column, 'path: message')."""
    try:
        data, positions = load(text)
    except Problem as problem:
        return [(problem.line, problem.column, problem.message)]
    if data is None:  # an empty file is a valid (empty) rule file for kefu too
        return []
    found = []
    for error in sorted(check.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        error = most_specific(error)
        path = tuple(str(p) for p in error.absolute_path)
        line, column = positions.get(path, (1, 1))
        found.append((line, column, f"{'/'.join(path) or '(top)'}: {error.message}"))
    return sorted(found)


# --- Documents the schema must reject or accept ------------------------------------------------

RULE = "rules:\n  - id: r\n"
MENU = "rules:\n  - {id: m, when: {click: 'K*'}, reply: 好}\n  - {id: n, when: {click: '1001'}, reply: 好}\nmenu:\n"
FLOW = "flows:\n  f:\n    steps:\n      - {slot: order, ask: 订单号？}\n    done: 好的\n"
SERVICES = ("default: x\nservices:\n  erp: {base: 'https://erp.example.com/api', auth: {bearer: ERP_TOKEN}, timeout: 2s}\n"
            "  crm: {base: 'http://127.0.0.1:8090', auth: {header: {X-Api-Key: CRM_KEY}}, timeout: 800ms, retry: 5}\n"
            "  his: {base: 'https://his.example.com', auth: {basic: {user: kefu, password: HIS_PASSWORD}}, signing: HIS_SIGNING}\n")


def call_flow(step: str) -> str:
    """SERVICES, a rule that starts flow f, and f: an order step, then `step` (one `- {call: …}` line)."""
    return (SERVICES + "rules:\n  - {id: r, when: {contains: [x]}, flow: f}\n"
            "flows:\n  f:\n    steps:\n      - {slot: order, ask: 订单号？}\n      - " + step + "\n    done: 好的\n")


def flow_with(steps: str) -> str:
    """A one-flow document whose steps are `steps`."""
    return "flows:\n  f:\n    steps:\n" + steps + "    done: 好的\n"


# (name, YAML, schema must reject, kefu lint rejects too)
CASES: list[tuple[str, str, bool, bool]] = [
    ("unknown key in a rule (repy)", RULE + "    when: {contains: 发货}\n    reply: 好的\n    repy: 好的\n", True, True),
    ("unknown top-level key", "rule: []\n", True, True),
    ("two conditions in one when", RULE + "    when: {contains: 发货, regex: '发货'}\n    reply: 好的\n", True, True),
    ("empty when", RULE + "    when: {}\n    reply: 好的\n", True, True),
    ("a reply with two forms", RULE + "    when: {contains: 发货}\n    reply: {text: 好的, random: [好的]}\n", True, True),
    ("message: pdf", RULE + "    when: {message: pdf}\n    reply: 好的\n", True, True),
    ("rule without reply", RULE + "    when: {contains: 发货}\n", True, True),
    ("id with a space", "rules:\n  - id: shipping time\n    when: {contains: 发货}\n    reply: 好的\n", True, True),
    ("empty keyword list", RULE + "    when: {contains: []}\n    reply: 好的\n", True, True),
    ("intent given as a list", RULE + "    when: {intent: [a, b]}\n    reply: 好的\nintents: {a: [x], b: [y]}\n", True, True),
    ("image as a URL", RULE + "    when: {contains: 尺码}\n    reply: {image: 'https://example.com/a.jpg'}\n", True, True),
    ("video without media_id", RULE + "    when: {contains: 视频}\n    reply: {video: {title: 教程}}\n", True, True),
    ("music without thumb_media_id", RULE + "    when: {contains: 音乐}\n    reply: {music: {title: 歌}}\n", True, True),
    ("news article without title", RULE + "    when: {contains: 会员}\n    reply: {news: {url: 'https://example.com'}}\n", True, True),
    ("transfer to a name without @", RULE + "    when: {contains: 人工}\n    reply: {transfer: 小王}\n", True, True),
    ("in_order as one text", RULE + "    when: {contains: 退货}\n    reply: {in_order: 第一步}\n", True, True),
    ("normalize chinese: traditional", "settings: {normalize: {chinese: traditional}}\n", True, True),
    ("intent_threshold above 1", "settings: {intent_threshold: 2}\n", True, True),
    ("priority as a word", RULE + "    when: {contains: 发货}\n    reply: 好的\n    priority: high\n", True, True),
    ("intent body as one text", "intents:\n  refund: 我要退货\n", True, True),
    ("not: as a mapping", "intents:\n  refund: {examples: [我要退货], not: {a: b}}\n", True, True),
    ("none with a not: list", "intents:\n  none: {examples: [你好], not: [谢谢]}\n", True, True),
    ("builtin_none: maybe", "settings: {builtin_none: maybe}\n", True, True),
    ("duplicate key", RULE + "    when: {contains: 发货}\n    reply: 好的\n    reply: 不好\n", True, True),
    # Both are almost certainly mistakes, and both are refused: `subscribe: false` (not a QR scene)
    # and `reply:` with nothing after it (WeChat shows an error for an empty message).
    ("subscribe: false", RULE + "    when: {subscribe: false}\n    reply: 好的\n", True, True),
    ("empty reply", RULE + "    when: {contains: 发货}\n    reply:\n", True, True),
    # Flows and interrupts (docs/rules.md, sections 6–8).
    ("rule with neither reply nor flow", RULE + "    when: {contains: 退货}\n    priority: 1\n", True, True),
    ("rule with flow and a news reply", RULE + "    when: {contains: 退货}\n    flow: f\n    reply: {news: {title: 售后}}\n" + FLOW, True, True),
    ("flow without done", "flows:\n  f:\n    steps:\n      - {slot: order, ask: 订单号？}\n", True, True),
    ("flow with no steps", "flows:\n  f:\n    steps: []\n    done: 好的\n", True, True),
    ("flow name with a space", "flows:\n  after sales:\n    steps:\n      - {slot: order, ask: 订单号？}\n    done: 好的\n", True, True),
    ("unknown key in a flow (step)", "flows:\n  f:\n    step:\n      - {slot: order, ask: 订单号？}\n    done: 好的\n", True, True),
    ("step with neither slot nor confirm", flow_with("      - {ask: 订单号？}\n"), True, True),
    ("slot step without ask", flow_with("      - {slot: order, expect: text}\n"), True, True),
    ("change on a slot step", flow_with("      - {slot: order, ask: 订单号？, change: 改哪项？}\n"), True, True),
    ("expect: phone (not a form)", flow_with("      - {slot: phone, ask: 手机号？, expect: phone}\n"), True, True),
    ("expect with two forms", flow_with("      - {slot: a, ask: 问, expect: {regex: 'x', choice: [是, 否]}}\n"), True, True),
    ("choice with one option", flow_with("      - {slot: a, ask: 问, expect: {choice: [内科]}}\n"), True, True),
    ("media: pdf", flow_with("      - {slot: a, ask: 问, expect: {media: pdf}}\n"), True, True),
    ("on_fail: transfer", flow_with("      - {slot: a, ask: 问, on_fail: transfer}\n"), True, True),
    ("max_attempts: 0", flow_with("      - {slot: a, ask: 问, max_attempts: 0}\n"), True, True),
    ("empty if", flow_with("      - {slot: a, ask: 问, if: {}}\n"), True, True),
    ("expires without a unit", "flows:\n  f:\n    expires: 30\n    steps:\n      - {slot: a, ask: 问}\n    done: 好的\n", True, True),
    ("handoff_pause: 30 minutes", "settings: {handoff_pause: 30 minutes}\n", True, True),
    ("timezone as a city", "settings: {timezone: Beijing}\n", True, True),
    ("interrupt without action", "interrupts:\n  - when: {exact: 取消}\n", True, True),
    ("interrupt action: stop", "interrupts:\n  - {when: {exact: 取消}, action: stop}\n", True, True),
    ("interrupt on a follow", "interrupts:\n  - {when: {subscribe: true}, action: cancel}\n", True, True),
    ("handoff interrupt that also says something", "interrupts:\n  - {when: {contains: 人工}, action: handoff, reply: 正在为您转接}\n", True, True),
    ("interrupts as a mapping", "interrupts:\n  cancel: {when: {exact: 取消}, action: cancel}\n", True, True),
    # The schema is knowingly looser here: it cannot compare two values (min above max) or check a
    # name against the rest of the rule set, so only kefu lint rejects these (bad-expectation,
    # unknown-variable, unknown-flow).
    ("number min above max", flow_with("      - {slot: n, ask: 几件？, expect: {number: {min: 10, max: 1}}}\n"), False, True),
    ("done uses a slot the flow does not have", "flows:\n  f:\n    steps:\n      - {slot: order, ask: 订单号？}\n    done: 已登记 {{phone}}\n", False, True),
    ("rule starts a flow that does not exist", RULE + "    when: {contains: 退货}\n    flow: after-sales\n", False, True),
    ("a rule answers intent none", RULE + "    when: {intent: none}\n    reply: 好的\nintents:\n  none: [你好]\n", False, True),
    ("a not: example that is also an example", RULE + "    when: {intent: refund}\n    reply: 好的\nintents:\n  refund: {examples: [我要退货], not: [我要退货]}\n", False, True),
    # Correct, if unusual: the schema must accept these (flows: a one-text retry, an option
    # without words, a handoff interrupt that picks an agent).
    ("numeric QR scene and keyword", RULE + "    when: {subscribe: [123, store_1]}\n    reply: 好的\n"
     "  - id: s\n    when: {exact: 1}\n    reply: 好的\n", False, False),
    ("yes/on as booleans", "settings: {normalize: {width: yes, case: on}}\n", False, False),
    ("transfer yes / {kf_account} / {}", RULE + "    when: {contains: 人工}\n    reply: {random: [{transfer: yes}, "
     "{transfer: {kf_account: kf1@gh_1}}, {transfer: {}}]}\n", False, False),
    ("intent examples as one text", RULE + "    when: {intent: refund}\n    reply: 好的\nintents:\n  refund: {examples: 我要退货}\n", False, False),
    ("not:, none: and builtin_none", RULE + "    when: {intent: refund}\n    reply: 好的\nintents:\n  refund: {examples: [我要退货], not: [好的谢谢]}\n"
     "  none: {examples: [老板在吗]}\nsettings: {builtin_none: false}\n", False, False),
    ("nested random with media", RULE + "    when: {contains: 尺码}\n    reply: {random: [{image: MEDIA_1}, 文字, {random: [a, b]}]}\n", False, False),
    ("empty file", "# only a comment\n", False, False),
    ("a flow with every expect form", RULE + "    when: {regex: '(?<order>DD\\d{12})'}\n    flow: f\n" + """flows:
  f:
    title: 登记
    expires: 2h
    on_expire: 已超时。
    start: 好的。
    cancelled: 已取消。
    steps:
      - {slot: order, label: 订单号, ask: 订单号？, expect: {regex: '(?<slot>DD\\d{12})'}, retry: 不对, max_attempts: 2, on_fail: handoff}
      - {slot: kind, ask: 哪种？, expect: {choice: {质量问题: [坏了, 破损], 其他: [], 不想要了: }}}
      - {slot: photo, if: {kind: 质量问题}, ask: 发张照片, expect: {media: [image, video]}, on_fail: {reply: 也可以回复人工}}
      - {slot: when, if: {kind: [质量问题, 其他]}, ask: 哪天？, expect: date}
      - {slot: visit, ask: 几点？, expect: datetime}
      - {slot: n, ask: 几件？, expect: {number: {min: 1, max: 9}}}
      - {slot: m, ask: 几楼？, expect: number}
      - {slot: phone, ask: 手机号？, expect: mobile}
      - {slot: name, ask: 姓名？, expect: {text: {min: 2}}}
      - {slot: note, ask: 备注？, expect: text}
      - {slot: size, ask: 尺码？, expect: {choice: [S, M, L]}}
      - {confirm: '订单 {{order}}，对吗？', change: 改哪项？, retry: [请回复是或否]}
    done: {news: {title: '已登记 {{order}}', url: 'https://example.com'}}
""", False, False),
    ("rule with a text reply and a flow", RULE + "    when: {contains: 退货}\n    reply: {text: 好的}\n    flow: f\n" + FLOW, False, False),
    ("interrupts: no id, click, transfer to an agent, priority", "interrupts:\n  - {when: {exact: [取消, 算了]}, action: cancel}\n"
     "  - {id: stop, when: {click: MENU_STOP}, action: cancel, reply: 好的}\n"
     "  - {id: vip, when: {contains: 专属客服}, action: handoff, reply: {transfer: kf2001@gh_1}, priority: 10}\n", False, False),
    ("timezone and handoff_pause", "settings: {timezone: '+08:00', handoff_pause: 90s}\n", False, False),
    # Hours, facts, time conditions, limits and comparisons
    ("hours, facts, open/after_hours, date limits, refuse, if comparisons, strict",
     "default: 抱歉 {{热线}}\n"
     "settings: {confirm_words: [没毛病], deny_words: [不太对]}\n"
     "hours:\n  店: {每天: '11:00-14:00, 17:00-02:00', 周一: 休息, closed: [2026-12-24], '2026-12-31': '10:00-23:00'}\n"
     "facts:\n  热线: 400-1\n  门店: {甲店: {地址: 一号路, 时间: 店, 包间: 有}, 乙店: {地址: 二号路, 时间: 店, 包间: 没有}}\n"
     "rules:\n  - {id: o, when: {contains: [营业吗], open: 店}, reply: '营业中 {{门店[甲店].地址}}'}\n"
     "  - {id: c, when: {contains: [营业吗], after_hours: 店}, reply: '打烊了：{{店}}'}\n"
     "  - {id: b, when: {contains: [订座]}, flow: f}\n"
     "flows:\n  f:\n    steps:\n"
     "      - {slot: 门店, ask: 哪家, expect: {choice: [甲店, 乙店]}}\n"
     "      - {slot: t, ask: 几点, expect: {datetime: {within: 30d, hours: 门店.时间}}, refuse: {closed: '{{said}}不营业', past: 过去了}}\n"
     "      - {slot: d, ask: 哪天买的, expect: {date: {past: allow}}}\n"
     "      - {slot: n, ask: 几位, expect: number}\n"
     "      - {slot: r, ask: 包间, if: {n: 超过 10, 门店.包间: 有}, expect: {choice: [要, 不要]}}\n"
     "      - {slot: w, ask: 靠窗, if: {n: '<= 2', 门店: {not: [乙店]}}, expect: {choice: [是, 否]}}\n"
     "      - {confirm: '{{t}} 对吗', strict: true}\n"
     "    done: '{{门店.地址}}'\n"
     "interrupts:\n  - {when: {contains: [人工], open: 店}, action: handoff}\n", False, False),
    ("open without a condition", "default: x\nhours: {店: {每天: '09:00-18:00'}}\nrules:\n  - {id: a, when: {open: 店}, reply: y}\n", True, True),
    ("both open and after_hours", "default: x\nhours: {店: {每天: '09:00-18:00'}}\nrules:\n  - {id: a, when: {contains: [x], open: 店, after_hours: 店}, reply: y}\n", True, True),
    ("refuse with an unknown kind", "default: x\nrules:\n  - {id: b, when: {contains: [订]}, flow: f}\n"
     "flows:\n  f: {steps: [{slot: n, ask: q, expect: number, refuse: {too_big: 太多}}], done: ok}\n", True, True),
    ("date limit past: maybe", "default: x\nrules:\n  - {id: b, when: {contains: [订]}, flow: f}\n"
     "flows:\n  f: {steps: [{slot: d, ask: q, expect: {date: {past: maybe}}}], done: ok}\n", True, True),
    ("a scheduled text before a date-time slot", "default: x\nrules:\n  - {id: b, when: {contains: [订]}, flow: f}\n"
     "flows:\n  f: {steps: [{slot: t, ask: q, expect: datetime}], done: ok, schedule: [{before: 2h, of: t, text: '提醒：{{t}}'}]}\n", False, False),
    ("a scheduled template after the flow, and cancel_schedule", "default: x\nrules:\n  - {id: b, when: {contains: [订]}, flow: f}\n"
     "  - {id: c, when: {contains: [取消]}, flow: g}\n"
     "flows:\n  f: {steps: [{slot: t, ask: q, expect: datetime}], done: ok, schedule: [{after: 1d, template: {id: TM1, data: {thing1: '{{t}}'}}}]}\n"
     "  g: {steps: [{slot: p, ask: q, expect: mobile}], done: ok, cancel_schedule: [f]}\n", False, False),
    ("a scheduled message with both before and after", "default: x\nrules:\n  - {id: b, when: {contains: [订]}, flow: f}\n"
     "flows:\n  f: {steps: [{slot: t, ask: q, expect: datetime}], done: ok, schedule: [{before: 2h, of: t, after: 1h, text: x}]}\n", True, True),
    ("a scheduled message without what to send", "default: x\nrules:\n  - {id: b, when: {contains: [订]}, flow: f}\n"
     "flows:\n  f: {steps: [{slot: t, ask: q, expect: datetime}], done: ok, schedule: [{before: 2h, of: t}]}\n", True, True),
    ("a template without data", "default: x\nrules:\n  - {id: b, when: {contains: [订]}, flow: f}\n"
     "flows:\n  f: {steps: [{slot: t, ask: q, expect: datetime}], done: ok, schedule: [{after: 1h, template: {id: TM1}}]}\n", True, True),
    # Menus (docs/rules.md, section 12). MENU answers the click keys used below.
    ("menu with 4 buttons", MENU + "".join(f"  - {{name: b{i}, click: K{i}}}\n" for i in range(4)), True, True),
    ("menu button with click and sub_buttons", MENU + "  - name: a\n    click: K1\n    sub_buttons: [{name: b, click: K2}]\n", True, True),
    ("menu button with neither action nor sub_buttons", MENU + "  - {name: a}\n", True, True),
    ("menu button with two actions", MENU + "  - {name: a, click: K1, view: 'https://example.com'}\n", True, True),
    ("menu type in capitals (CLICK)", MENU + "  - {name: a, CLICK: K1}\n", True, True),
    ("menu in WeChat's JSON form (type/key)", MENU + "  - {name: a, type: click, key: K1}\n", True, True),
    ("menu view without http(s)", MENU + "  - {name: a, view: www.example.com}\n", True, True),
    ("menu with empty sub_buttons", MENU + "  - {name: a, sub_buttons: []}\n", True, True),
    ("menu with 6 sub-buttons", MENU + "  - name: a\n    sub_buttons:\n" + "".join(f"      - {{name: s{i}, click: K{i}}}\n" for i in range(6)), True, True),
    ("menu sub-button with sub_buttons", MENU + "  - name: a\n    sub_buttons:\n      - {name: b, sub_buttons: [{name: c, click: K1}]}\n", True, True),
    ("menu miniprogram without url", MENU + "  - {name: a, miniprogram: {appid: wx1, pagepath: pages/index}}\n", True, True),
    ("menu name of 17 letters", MENU + "  - {name: abcdefghijklmnopq, click: K1}\n", True, True),
    ("menu as a mapping", "menu:\n  name: a\n  click: K1\n", True, True),
    # Knowingly looser: the schema counts characters, not UTF-8 bytes, and cannot see the rules.
    ("menu name of 6 Chinese characters (18 bytes)", MENU + "  - {name: 我的订单查询, click: K1}\n", False, True),
    ("menu click no rule answers", MENU + "  - {name: a, click: NOBODY}\n", False, True),
    ("menu with every action", MENU + "  - name: 订单\n    sub_buttons:\n      - {name: 状态, click: K1}\n"
     "      - {name: 全部, view: 'https://shop.example.com/orders'}\n"
     "      - {name: 小程序, miniprogram: {appid: wx1, pagepath: pages/index, url: 'http://mp.weixin.qq.com'}}\n"
     "      - {name: 文章, article_id: ARTICLE_1}\n      - {name: 扫码, scancode_waitmsg: K2}\n"
     "  - name: 拍照\n    sub_buttons:\n      - {name: 拍照, pic_sysphoto: K3}\n      - {name: 相册, pic_photo_or_album: K4}\n"
     "      - {name: 微信相册, pic_weixin: K5}\n      - {name: 位置, location_select: K6}\n      - {name: 扫一扫, scancode_push: K7}\n"
     "  - {name: 客服, click: 1001}\n", False, False),
    # Media files in replies (docs/rules.md, 规则集里的文件). The one-file rule set here has no media/
    # folder, so kefu lint reports the file missing; the schema cannot see files.
    ("image file and media_id together", RULE + "    when: {contains: 尺码}\n    reply: {image: {file: media/a.png, media_id: M}}\n", True, True),
    ("image file with a leading /", RULE + "    when: {contains: 尺码}\n    reply: {image: {file: /etc/a.png}}\n", True, True),
    ("video with an empty file", RULE + "    when: {contains: 视频}\n    reply: {video: {file: '', title: 教程}}\n", True, True),
    ("image file not in the folder", RULE + "    when: {contains: 尺码}\n    reply: {image: {file: media/size-chart.png}}\n", False, True),
    ("video file with a title", RULE + "    when: {contains: 视频}\n    reply: {video: {file: media/install.mp4, title: 教程}}\n", False, True),
    ("image as {media_id: …}", RULE + "    when: {contains: 尺码}\n    reply: {image: {media_id: MEDIA_1}}\n", False, False),
    ("a reply of two messages, text then image", "default: x\nrules:\n  - {id: a, when: {contains: [x]}, reply: {messages: [先看这段, {news: {title: t, url: 'https://a.example/'}}]}}\n", False, False),
    ("messages with one item", "default: x\nrules:\n  - {id: a, when: {contains: [x]}, reply: {messages: [只有一条]}}\n", True, True),
    ("messages with six items", "default: x\nrules:\n  - {id: a, when: {contains: [x]}, reply: {messages: [a, b, c, d, e, f]}}\n", True, True),
    # Services and calls (docs/rules.md, section 13).
    ("services, call steps of every form and a rule's call", SERVICES + """rules:
  - {id: r, when: {contains: [查订单]}, flow: f}
  - id: q
    when: {regex: '查询(?<order>DD\\d{12})'}
    call:
      service: erp
      get: /orders/{{order}}
      save: {status: $.status}
      on: {ok: '{{status}}', 404: 没有, error: {handoff: 忙}, slow: 查询中}
flows:
  f:
    steps:
      - {slot: order, ask: 订单号？}
      - call: erp
        id: lookup
        get: /orders/{{order}}
        query: {detail: full, page: 1, who: '{{user.openid}}'}
        wait: 3s
        save: {status: $.status, names: '$.items[*].name'}
        map: {status: {SHIPPED: 已发货}}
        on:
          ok:
            - {if: {status: 已发货}, reply: '已发货 {{names}}'}
            - reply: {random: ['状态 {{status}}', '{{status}}']}
          404: {reply: 没有查到, goto: order}
          409: {cancel: 已经登记过}
          error: 忙
          slow: 正在查询
      - call: crm
        post: /tickets
        body: {order_no: '{{order}}', count: 2, urgent: true, note: null, tags: [a, '{{order}}'], who: {openid: '{{user.openid}}'}}
        on: {ok: 好, failed: {handoff: true}}
      - {call: his, delete: '/a/{{order}}', on: {error: {reply: 失败, cancel: true}}}
      - {call: his, put: /b, on: {failed: 失败}}
      - {call: his, patch: /c, on: {error: 失败}}
    done: 好的
""", False, False),
    ("service without base", "services:\n  erp: {title: ERP}\n", True, True),
    ("service name with a space", "services:\n  my erp: {base: 'https://erp.example.com'}\n", True, True),
    ("base with a query", "services:\n  erp: {base: 'https://erp.example.com/api?key=1'}\n", True, True),
    ("base with a user and password", "services:\n  erp: {base: 'https://kefu:pw@erp.example.com'}\n", True, True),
    ("a secret pasted into auth", "services:\n  erp: {base: 'https://erp.example.com', auth: {bearer: sk_live_51HxQk2eZvKYlo2C}}\n", True, True),
    ("auth as one text", "services:\n  erp: {base: 'https://erp.example.com', auth: ERP_TOKEN}\n", True, True),
    ("auth with two forms", "services:\n  erp: {base: 'https://erp.example.com', auth: {bearer: A, header: {X-Key: B}}}\n", True, True),
    ("a token: key in a service", "services:\n  erp: {base: 'https://erp.example.com', token: abc}\n", True, True),
    ("timeout: 2 seconds", "services:\n  erp: {base: 'https://erp.example.com', timeout: 2 seconds}\n", True, True),
    ("retry: 50", "services:\n  erp: {base: 'https://erp.example.com', retry: 50}\n", True, True),
    ("call with two methods", call_flow("{call: erp, get: /a, post: /b, on: {error: 忙}}"), True, True),
    ("call without a method", call_flow("{call: erp, on: {error: 忙}}"), True, True),
    ("GET with a body", call_flow("{call: erp, get: /a, body: {a: 1}, on: {error: 忙}}"), True, True),
    ("GET with failed:", call_flow("{call: erp, get: /a, on: {error: 忙, failed: 失败}}"), True, True),
    ("a read without error:", call_flow("{call: erp, get: /a, on: {ok: 好}}"), True, True),
    ("a write without error: or failed:", call_flow("{call: crm, post: /t, on: {ok: 好, 409: 重复}}"), True, True),
    ("a call without on:", call_flow("{call: erp, get: /a}"), True, True),
    ("a path without a leading /", call_flow("{call: erp, get: 'orders/{{order}}', on: {error: 忙}}"), True, True),
    ("on: 4xx", call_flow("{call: erp, get: /a, on: {error: 忙, 4xx: 没有}}"), True, True),
    ("a branch with goto and cancel", call_flow("{call: erp, get: /a, on: {error: {goto: order, cancel: true}}}"), True, True),
    ("a branch with continue:", call_flow("{call: erp, get: /a, on: {error: {reply: 忙, continue: true}}}"), True, True),
    ("cancel: false", call_flow("{call: erp, get: /a, on: {error: {cancel: false}}}"), True, True),
    ("slow: beside on:", call_flow("{call: erp, get: /a, slow: 稍等, on: {error: 忙}}"), True, True),
    ("a save path without $", call_flow("{call: erp, get: /a, save: {s: status}, on: {error: 忙}}"), True, True),
    ("a rule with call and reply", SERVICES + "rules:\n  - {id: q, when: {contains: [x]}, reply: 好, call: {service: erp, get: /a, on: {error: 忙}}}\n", True, True),
    ("a rule's call without service", SERVICES + "rules:\n  - {id: q, when: {contains: [x]}, call: {get: /a, on: {error: 忙}}}\n", True, True),
    # Knowingly looser: the schema cannot compare durations or names across the rule set.
    ("wait: 6s (over the budget)", call_flow("{call: erp, get: /a, wait: 6s, on: {error: 忙}}"), False, True),
    ("timeout: 20s (over 15s)", "services:\n  erp: {base: 'https://erp.example.com', timeout: 20s}\n", False, True),
    ("a call to a service not declared", call_flow("{call: ERP, get: /a, on: {error: 忙}}"), False, True),
    ("goto a step the flow does not have", call_flow("{call: erp, get: /a, on: {error: {reply: 忙, goto: phone}}}"), False, True),
    ("a path that uses a slot the flow does not have", call_flow("{call: erp, get: '/a/{{oder}}', on: {error: 忙}}"), False, True),
    ("a sample file not in the folder", "services:\n  erp: {base: 'https://erp.example.com', sample: samples/order.json}\n", False, True),
]


def find_kefu() -> Path | None:
    candidates = [os.environ.get("KEFU"), ROOT / ".build/debug/kefu", ROOT / ".build-docs/debug/kefu"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


def kefu_rejects(kefu: Path, text: str) -> bool:
    """Whether `kefu lint` reports an error (not a warning) for a rule set made of this one file."""
    folder = Path(tempfile.mkdtemp(prefix="kefu-schema-"))
    try:
        (folder / "case.yaml").write_text(text, encoding="utf-8")
        result = subprocess.run([str(kefu), "lint", str(folder), "--format", "json"], capture_output=True, text=True, timeout=60)
        report = json.loads(result.stdout)
        return report["errors"] > 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def rule_files(folder: Path) -> list[Path]:
    """The files kefu reads from a rule-set folder: *.yaml and *.yml, subfolders included, none
    under a name that starts with a dot."""
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def display(path: Path) -> Path:
    path = path.resolve()
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def main(arguments: list[str]) -> int:
    """No arguments: Rules/ and the built-in documents. Files or folders: only those files."""
    check = validator()
    failures = 0
    passed = 0

    if arguments:
        files = [q for a in map(Path, arguments) for q in (rule_files(a) if a.is_dir() else [a])]
    else:
        files = rule_files(RULES)
    print(f"schema: {SCHEMA_PATH.relative_to(ROOT)} (draft-07)")
    print(f"rule files{'' if arguments else f' under {RULES.relative_to(ROOT)}/'}: {len(files)}")
    for path in files:
        found = violations(check, path.read_text(encoding="utf-8"))
        name = display(path)
        if found:
            failures += 1
            for line, column, message in found:
                print(f"{name}:{line}:{column}: {message}")
        else:
            passed += 1
            print(f"  ok      {name}")

    if arguments:
        print(f"{passed} passed, {failures} failed")
        return 1 if failures else 0

    kefu = find_kefu()
    print(f"documents that must be rejected or accepted: {len(CASES)}"
          + (f" (each also linted with {kefu.relative_to(ROOT) if kefu.is_relative_to(ROOT) else kefu})" if kefu else
             " (no kefu binary found: set KEFU=path to compare with kefu lint)"))
    for name, text, must_reject, loader_rejects in CASES:
        found = violations(check, text)
        rejected = bool(found)
        verdict = "rejected" if rejected else "accepted"
        ok = rejected == must_reject
        note = ""
        if kefu is not None:
            by_kefu = kefu_rejects(kefu, text)
            if by_kefu != loader_rejects:
                ok = False
                note = f"; kefu lint {'rejects' if by_kefu else 'accepts'} it, expected it to {'reject' if loader_rejects else 'accept'}"
            elif loader_rejects != must_reject:
                note = ("; kefu lint accepts it (the schema is stricter on purpose)" if must_reject else
                        "; kefu lint rejects it (the schema is looser on purpose)")
        if ok:
            passed += 1
            first = f": {found[0][2]}" if found else ""
            print(f"  ok      {verdict:8} {name}{first}{note}")
        else:
            failures += 1
            print(f"  FAILED  {name}: the schema {verdict} it, expected {'rejected' if must_reject else 'accepted'}{note}")
            for line, column, message in found:
                print(f"          {line}:{column}: {message}")

    print(f"{passed} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
