"""Inline suppressions (`# nosemgrep: <rule-id> -- reason`) and baselines.

Semgrep runs with `--disable-nosem`: the runner applies suppressions itself so that the
reason after `--` is carried into the output and suppressed findings can be kept in
SARIF with a justification.
"""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from backend_review import output
from backend_review.finding import Finding, Suppression

_NOSEM = re.compile(r"(?:#|//|/\*|--)\s*nosemgrep\b(?::\s*(?P<ids>[\w.,\s/-]*?))?\s*(?:--\s*(?P<reason>.*?))?\s*(?:\*/)?\s*$",
                    re.IGNORECASE)
BASELINE_VERSION = 1


class BaselineError(Exception):
    pass


def _matches(rule_id: str, ids: str | None) -> bool:
    if not ids or not ids.strip():
        return True  # a bare `nosemgrep` silences every rule on that line
    for wanted in re.split(r"[,\s]+", ids.strip()):
        if wanted and (rule_id == wanted or rule_id.endswith("." + wanted)):
            return True
    return False


def inline(finding: Finding, lines: list[str]) -> Suppression | None:
    """A `nosemgrep` comment on the finding's first line, or alone on the line above."""
    candidates = []
    if 0 < finding.region.start_line <= len(lines):
        candidates.append(lines[finding.region.start_line - 1])
    if 1 < finding.region.start_line <= len(lines) + 1:
        above = lines[finding.region.start_line - 2]
        if above.lstrip().startswith(("#", "//", "/*", "--")):
            candidates.append(above)
    for line in candidates:
        m = _NOSEM.search(line)
        if m and _matches(finding.rule_id, m.group("ids")):
            return Suppression(kind="inSource", justification=(m.group("reason") or "").strip())
    return None


def load_baseline(path: Path) -> dict[str, str]:
    """fingerprint -> reason."""
    doc = output.read_json(path, "baseline", BaselineError)
    if not isinstance(doc, dict) or doc.get("version") != BASELINE_VERSION or not isinstance(doc.get("findings"), list):
        raise BaselineError(f"{path}: not a backend-review baseline (expected version {BASELINE_VERSION} "
                            "and a `findings` list)")
    out = {}
    for i, entry in enumerate(doc["findings"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("fingerprint"), str):
            raise BaselineError(f"{path}: findings[{i}]: expected an object with a `fingerprint` string")
        out[entry["fingerprint"]] = str(entry.get("reason") or "")
    return out


def baseline_document(findings: list[Finding], reason: str) -> dict:
    return {"version": BASELINE_VERSION,
            "findings": [{"fingerprint": f.fingerprint, "rule": f.rule_id, "path": f.path,
                          "line": f.region.start_line, "reason": reason}
                         for f in sorted(findings, key=lambda f: (f.path, f.region.start_line, f.rule_id))]}


def apply(findings: list[Finding], lines_of, baseline: dict[str, str] | None) -> tuple[list[Finding], list[Finding]]:
    """Split findings into (reported, suppressed)."""
    kept, suppressed = [], []
    for f in findings:
        s = inline(f, lines_of(f.path))
        if s is None and baseline is not None and f.fingerprint in baseline:
            s = Suppression(kind="external", justification=baseline[f.fingerprint] or "listed in the baseline")
        if s is None:
            kept.append(f)
        else:
            suppressed.append(replace(f, suppression=s))
    return kept, suppressed

