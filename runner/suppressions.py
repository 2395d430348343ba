"""Inline suppressions (`# nosemgrep: <rule-id> -- reason`), their hygiene, and baselines.

Semgrep runs with `--disable-nosem`: the runner applies suppressions itself so that the
reason after `--` is carried into the output and suppressed findings can be kept in
SARIF with a justification. Like ruff's unused-noqa, a comment that names an unknown rule
or suppresses nothing is reported as a warning.

Baseline entries are keyed by paths relative to the git repository that holds the
baseline file (or, outside git, the baseline file's folder), so one baseline matches
whichever folder the scan runs from.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from backend_review import output
from backend_review.finding import Finding, Notification, Suppression
from backend_review.fingerprint import baseline_key

_NOSEM = re.compile(r"(?:#|//|/\*|--)\s*nosemgrep\b(?::\s*(?P<ids>[\w.,\s/-]*?))?\s*(?:--\s*(?P<reason>.*?))?\s*(?:\*/)?\s*$",
                    re.IGNORECASE)
_COMMENT_START = ("#", "//", "/*", "--")
BASELINE_VERSION = 2  # 1: fingerprints of scan-root-relative paths (still read)


class BaselineError(Exception):
    pass


def _tokens(ids: str | None) -> list[str]:
    return [t for t in re.split(r"[,\s]+", (ids or "").strip()) if t]


def names(rule_id: str, token: str) -> bool:
    """A comment's id names a rule by its full id or the end of it (`requests-without-timeout`)."""
    return rule_id == token or rule_id.endswith("." + token)


@dataclass(frozen=True)
class Comment:
    line: int  # 1-based
    tokens: tuple[str, ...]  # empty: a bare `nosemgrep`, every rule
    reason: str


def comment_at(lines: list[str], line: int) -> Comment | None:
    if 0 < line <= len(lines):
        m = _NOSEM.search(lines[line - 1])
        if m:
            return Comment(line, tuple(_tokens(m.group("ids"))), (m.group("reason") or "").strip())
    return None


def comments(lines: list[str]) -> list[Comment]:
    return [c for i, text in enumerate(lines, 1) if "nosemgrep" in text.lower() and (c := comment_at(lines, i))]


def _covering(finding: Finding, lines: list[str]) -> tuple[Comment, str] | None:
    """The comment (and the id in it) that covers the finding: on its first line, or alone on
    the line above."""
    start = finding.region.start_line
    above = start - 1
    candidates = [start]
    if 0 < above <= len(lines) and lines[above - 1].lstrip().startswith(_COMMENT_START):
        candidates.append(above)
    for line in candidates:
        c = comment_at(lines, line)
        if c is None:
            continue
        if not c.tokens:
            return c, ""
        for token in c.tokens:
            if names(finding.rule_id, token):
                return c, token
    return None


@dataclass
class Baseline:
    path: Path
    anchor: Path  # entries' paths are relative to this folder
    version: int
    reasons: dict[str, str]  # key -> reason

    def key(self, f: Finding, root: Path) -> str:
        if self.version == 1:
            return f.fingerprint
        return baseline_key(anchored_path(root / f.path, self.anchor), f.code_key)


def anchor_for(baseline_file: Path) -> Path:
    """The git work tree holding the baseline file (a `.git` folder, or file for worktrees
    and submodules), else the file's own folder."""
    folder = baseline_file.resolve().parent
    for d in (folder, *folder.parents):
        if (d / ".git").exists():
            return d
    return folder


def anchored_path(path: Path, anchor: Path) -> str:
    return PurePosixPath(*Path(os.path.relpath(path.resolve(), anchor)).parts).as_posix()


def load_baseline(path: Path) -> Baseline:
    doc = output.read_json(path, "baseline", BaselineError)
    if not isinstance(doc, dict) or doc.get("version") not in (1, BASELINE_VERSION) \
            or not isinstance(doc.get("findings"), list):
        raise BaselineError(f"{path}: not a backend-review baseline (expected version {BASELINE_VERSION} "
                            "and a `findings` list)")
    reasons = {}
    for i, entry in enumerate(doc["findings"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("fingerprint"), str):
            raise BaselineError(f"{path}: findings[{i}]: expected an object with a `fingerprint` string")
        reasons[entry["fingerprint"]] = str(entry.get("reason") or "")
    return Baseline(path=path, anchor=anchor_for(path), version=doc["version"], reasons=reasons)


def baseline_document(findings: list[Finding], reason: str, root: Path, baseline_file: Path) -> dict:
    anchor = anchor_for(baseline_file)
    entries = [{"fingerprint": baseline_key(anchored_path(root / f.path, anchor), f.code_key),
                "rule": f.rule_id, "path": anchored_path(root / f.path, anchor),
                "line": f.region.start_line, "reason": reason} for f in findings]
    return {"version": BASELINE_VERSION, "paths": "relative to the git repository holding this file, "
            "or to this file's folder outside git",
            "findings": sorted(entries, key=lambda e: (e["path"], e["line"], e["rule"]))}


@dataclass
class Applied:
    kept: list[Finding] = field(default_factory=list)
    suppressed: list[Finding] = field(default_factory=list)
    used: set = field(default_factory=set)  # (path, comment line, token) that suppressed a finding
    notes: list[Notification] = field(default_factory=list)
    baseline_matches: int = 0


def apply(findings: list[Finding], lines_of, baseline: Baseline | None, root: Path,
          require_reason: bool = False) -> Applied:
    """Split findings into kept and suppressed. With `require_reason`, a comment without
    `-- reason` is not honoured: the finding stays and the comment gets an error."""
    out = Applied()
    for f in findings:
        s = None
        hit = _covering(f, lines_of(f.path))
        if hit is not None:
            comment, token = hit
            out.used.add((f.path, comment.line, token))
            if comment.reason or not require_reason:
                s = Suppression(kind="inSource", justification=comment.reason)
            else:
                out.notes.append(Notification(
                    "error", f"nosemgrep without a reason (`-- why`) is not honoured "
                    f"(require-suppression-reason): {f.rule_id} is reported", f.path, comment.line, kind="suppression"))
        if s is None and baseline is not None:
            key = baseline.key(f, root)
            if key in baseline.reasons:
                out.baseline_matches += 1
                s = Suppression(kind="external", justification=baseline.reasons[key] or "listed in the baseline")
        if s is None:
            out.kept.append(f)
        else:
            out.suppressed.append(replace(f, suppression=s))
    if baseline is not None and baseline.reasons and not out.baseline_matches:
        out.notes.append(Notification(
            "warning", f"baseline {baseline.path}: none of its {len(baseline.reasons)} entries matched a finding "
            f"(paths are relative to {baseline.anchor}); fixed, or created for other code?", kind="baseline"))
    return out


def hygiene(applied: Applied, root: Path, files: list[str], rules_ran_on, is_known, lines_of) -> list[Notification]:
    """Warnings for `nosemgrep` comments that name an unknown rule id, or name a rule that ran
    on the file and suppressed nothing there. `rules_ran_on(path)` gives the ids of the rules
    that ran on a file; comments naming only rules that did not run are not judged, nor is a
    bare `nosemgrep` (it may be meant for another semgrep pack)."""
    notes = []
    for path in files:
        try:
            if b"nosemgrep" not in (root / path).read_bytes().lower():
                continue
        except OSError:
            continue
        ran = None
        for c in comments(lines_of(path)):
            for token in c.tokens:
                if not is_known(token):
                    notes.append(Notification("warning", f"nosemgrep names an unknown rule id {token!r} "
                                              "(see `backend-review rules list`)", path, c.line, kind="suppression"))
                    continue
                ran = ran if ran is not None else rules_ran_on(path)
                if (path, c.line, token) not in applied.used and any(names(r, token) for r in ran):
                    notes.append(Notification("warning", f"unused suppression: nosemgrep: {token} suppresses "
                                              "nothing (the rule ran on this file and found nothing where "
                                              "the comment applies)", path, c.line, kind="suppression"))
    return notes
