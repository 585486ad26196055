"""Every text the pages pass to t("..."), and every contract refusal in plain words, has a 简体中文
translation in i18n.js."""

from __future__ import annotations

import json
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "backend" / "web" / "src"
# t("literal"...) with a plain double-quoted JavaScript string (no template literals).
CALL = re.compile(r'\bt\(\s*("(?:[^"\\]|\\.)*")')


def zh_keys() -> set[str]:
    text = (SRC / "i18n.js").read_text()
    block = text[text.index("const ZH = {") : text.index("\n};", text.index("const ZH = {"))]
    return {json.loads(key) for key in re.findall(r'^\s*("(?:[^"\\]|\\.)*")\s*:', block, re.M)}


def test_every_page_text_has_a_chinese_translation():
    keys = zh_keys()
    used = {}
    for path in sorted(SRC.rglob("*.js")):
        for literal in CALL.findall(path.read_text()):
            used.setdefault(json.loads(literal), path.name)
    wallet = (SRC / "wallet.js").read_text()
    plain = wallet[wallet.index("const PLAIN = {") : wallet.index("\n};", wallet.index("const PLAIN = {"))]
    for literal in re.findall(r':\s*("(?:[^"\\]|\\.)*")\s*,', plain):  # contract reasons in plain words
        used.setdefault(json.loads(literal), "wallet.js PLAIN")
    assert len(used) > 100  # the pattern finds the page texts at all
    missing = {text: where for text, where in used.items() if text not in keys}
    assert not missing, f"no 简体中文 for: {missing}"
