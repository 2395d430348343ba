"""Stable fingerprints.

Two kinds:

* `line_hashes(text)` reproduces GitHub's `primaryLocationLineHash` (the rolling hash
  the CodeQL upload action computes over the 100 non-blank characters that start at a
  line, with `:N` telling identical lines apart). Shipping it ourselves keeps alerts
  matched across uploads even when SARIF is uploaded by another client.
* `finding_fingerprint(...)` is ours: rule, path, the matched code with white space
  folded, and the occurrence number of that same code in the file. It survives lines
  inserted above a finding and changes when the finding's own code changes. SARIF's
  `backendReview/v1` carries it.
* `baseline_key(...)`: the same, with the path taken relative to the baseline's anchor (the
  git repository root), so a baseline matches from whichever folder the scan runs.
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
    """Map 1-based line number -> `hex:count` for every line of `text`.

    One pass over the UTF-16 code units with plain locals (no closures or dicts per step):
    it runs once per file with findings, over every character, so it is the runner's own
    hottest loop."""
    window = [0] * _BLOCK
    line_at = [-1] * _BLOCK
    counts: dict[str, int] = {}
    out: dict[int, str] = {}
    value_hash = index = line = 0
    line_start, prev_cr = True, False
    # after the text, _BLOCK zeros flush the windows of its last lines
    for current in (*_code_units(text), _EOF, *(0,) * _BLOCK):
        if current == _SPACE or current == _TAB or (prev_cr and current == _LF):
            prev_cr = False
            continue
        if current == _CR:
            current, prev_cr = _LF, True
        else:
            prev_cr = False
        at = line_at[index]
        if at != -1:  # the window that started at line `at` is complete: emit its hash
            value = format(value_hash, "x")
            count = counts[value] = counts.get(value, 0) + 1
            out[at] = f"{value}:{count}"
            line_at[index] = -1
        if line_start:
            line_start = False
            line += 1
            line_at[index] = line
        if current == _LF:
            line_start = True
        value_hash = (_MOD * value_hash + current - _FIRST_MOD * window[index]) & _MASK
        window[index] = current
        index = index + 1 if index + 1 < _BLOCK else 0
    return out


_WS = re.compile(r"\s+")


def normalise_code(code: str) -> str:
    return _WS.sub(" ", code).strip()


def finding_fingerprint(rule_id: str, path: str, code: str, occurrence: int) -> str:
    payload = "\0".join((rule_id, path, normalise_code(code), str(occurrence)))
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def baseline_key(anchored_path: str, code_key: str) -> str:
    """`code_key` is `finding_fingerprint` with an empty path: rule, code and occurrence."""
    return hashlib.sha256(f"{anchored_path}\0{code_key}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
