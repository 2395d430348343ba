"""Stable fingerprints.

Two kinds:

* `line_hashes(text)` reproduces GitHub's `primaryLocationLineHash` (the rolling hash
  the CodeQL upload action computes over the 100 non-blank characters that start at a
  line, with `:N` telling identical lines apart). Shipping it ourselves keeps alerts
  matched across uploads even when SARIF is uploaded by another client.
* `finding_fingerprint(...)` is ours: rule, path, the matched code with white space
  folded, and the occurrence number of that same code in the file. It survives lines
  inserted above a finding and changes when the finding's own code changes. Baselines
  use it.
"""
from __future__ import annotations

import hashlib
import re
import struct

_BLOCK = 100
_MOD = 37
_MASK = (1 << 64) - 1
_FIRST_MOD = pow(_MOD, _BLOCK, 1 << 64)
_TAB, _SPACE, _LF, _CR, _EOF = 9, 32, 10, 13, 65535


def _code_units(text: str):
    """UTF-16 code units, as JavaScript's charCodeAt sees the text."""
    data = text.encode("utf-16-le", "surrogatepass")
    return struct.unpack(f"<{len(data) // 2}H", data)


def line_hashes(text: str) -> dict[int, str]:
    """Map 1-based line number -> `hex:count` for every line of `text`."""
    window = [0] * _BLOCK
    line_at = [-1] * _BLOCK
    state = {"hash": 0, "index": 0}
    counts: dict[str, int] = {}
    out: dict[int, str] = {}

    def emit() -> None:
        value = format(state["hash"] & _MASK, "x")
        counts[value] = counts.get(value, 0) + 1
        out[line_at[state["index"]]] = f"{value}:{counts[value]}"
        line_at[state["index"]] = -1

    def update(current: int) -> None:
        i = state["index"]
        begin = window[i]
        window[i] = current
        state["hash"] = (_MOD * state["hash"] + current - _FIRST_MOD * begin) & _MASK
        state["index"] = (i + 1) % _BLOCK

    line = 0
    line_start = True
    prev_cr = False
    for current in (*_code_units(text), _EOF):
        if current in (_SPACE, _TAB) or (prev_cr and current == _LF):
            prev_cr = False
            continue
        if current == _CR:
            current, prev_cr = _LF, True
        else:
            prev_cr = False
        if line_at[state["index"]] != -1:
            emit()
        if line_start:
            line_start = False
            line += 1
            line_at[state["index"]] = line
        if current == _LF:
            line_start = True
        update(current)
    for _ in range(_BLOCK):
        if line_at[state["index"]] != -1:
            emit()
        update(0)
    return out


_WS = re.compile(r"\s+")


def normalise_code(code: str) -> str:
    return _WS.sub(" ", code).strip()


def finding_fingerprint(rule_id: str, path: str, code: str, occurrence: int) -> str:
    payload = "\0".join((rule_id, path, normalise_code(code), str(occurrence)))
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()[:32]
