"""Findings on the ecosystem projects, the committed snapshot, the diff, verdicts and recall.

Pure functions over small records, so the tests can feed them synthetic inputs.

Keys: a finding is identified by (project, rule, path, fingerprint), the runner's own
`backendReview/v1` fingerprint (rule, path, the matched code and its occurrence number in the
file). The line is not part of the key: the same key on another line is "moved".
"""
from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.ecosystem.projects import EcosystemError

SNAPSHOT_VERSION = 1
VERDICTS = ("TP", "FP", "noise")
VERDICT_COLUMNS = ("project", "rule", "path", "line", "fingerprint", "verdict", "reason")
CURRENT_COLUMNS = ("project", "rule", "path", "line", "fingerprint", "severity", "code")
REVIEWER_COLUMNS = ("id", "path", "line", "area", "severity", "shape", "note")
AREAS = ("api", "database", "caching", "jobs", "boundaries", "auth", "ratelimit", "validation",
         "statefulness", "resilience")
SEVERITIES = ("critical", "high", "medium", "low")
MATCH_LINES = 3  # a reviewer item counts as reported by a finding in its file within this many lines


@dataclass(frozen=True)
class Finding:
    project: str
    rule: str
    path: str
    line: int
    end_line: int
    fingerprint: str
    severity: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.project, self.rule, self.path, self.fingerprint)

    @property
    def area(self) -> str:
        return area_of(self.rule)


def area_of(rule: str) -> str:
    return rule.split(".", 1)[0]


def from_report(project: str, report: dict) -> list[Finding]:
    """Findings of one `backend-review scan --format json` report."""
    out = []
    for f in report.get("findings", []):
        ev = f["evidence"]
        out.append(Finding(project, f["rule"], ev["path"], int(ev["start_line"]),
                           int(ev.get("end_line") or ev["start_line"]), f["fingerprint"], f["severity"]))
    return sorted(out, key=sort_key)


def sort_key(f: Finding):
    return (f.project, f.path, f.line, f.rule, f.fingerprint)


# ---- snapshot -------------------------------------------------------------------------------

def load_snapshot(path: Path) -> dict:
    """{"projects": {name: {"files": n, "lines": n, "findings": [Finding...]}}}; empty when absent."""
    if not path.is_file():
        return {"version": SNAPSHOT_VERSION, "projects": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        projects = {}
        for name, entry in data["projects"].items():
            projects[name] = {**entry, "findings": [Finding(project=name, **f) for f in entry["findings"]]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EcosystemError(f"{path}: not a snapshot this tool wrote ({exc})") from None
    return {**data, "projects": projects}


def dump_snapshot(snapshot: dict) -> str:
    """Stable text: projects and findings sorted, one finding per line, so a rule change shows as
    a readable git diff of the lines it added or removed."""
    lines = ["{", f'  "version": {SNAPSHOT_VERSION},']
    for key in ("tool", "rules"):
        if key in snapshot:
            lines.append(f'  {json.dumps(key)}: {json.dumps(snapshot[key], sort_keys=True)},')
    lines.append('  "projects": {')
    names = sorted(snapshot["projects"])
    for i, name in enumerate(names):
        entry = snapshot["projects"][name]
        meta = {k: v for k, v in entry.items() if k != "findings"}
        lines.append(f"    {json.dumps(name)}: {{")
        for k in sorted(meta):
            lines.append(f"      {json.dumps(k)}: {json.dumps(meta[k], sort_keys=True)},")
        rows = []
        for f in sorted(entry["findings"], key=sort_key):
            row = {k: v for k, v in asdict(f).items() if k != "project"}
            rows.append("        " + json.dumps(row, sort_keys=True))
        lines.append('      "findings": [' + ("\n" + ",\n".join(rows) + "\n      ]" if rows else "]"))
        lines.append("    }" + ("," if i < len(names) - 1 else ""))
    lines += ["  }", "}", ""]
    return "\n".join(lines)


# ---- diff -----------------------------------------------------------------------------------

@dataclass
class Diff:
    new: list[Finding]
    gone: list[Finding]
    moved: list[tuple[Finding, Finding]]  # (before, now)
    same: int

    def __bool__(self) -> bool:
        return bool(self.new or self.gone or self.moved)


def diff(before: list[Finding], now: list[Finding]) -> Diff:
    """Match by key; within one key (rare: the runner numbers identical code, so keys are
    normally unique) equal lines pair first, the rest pair in line order as moved."""
    old_by, new_by = defaultdict(list), defaultdict(list)
    for f in before:
        old_by[f.key].append(f)
    for f in now:
        new_by[f.key].append(f)
    out = Diff([], [], [], 0)
    for key in sorted(set(old_by) | set(new_by)):
        olds = sorted(old_by.get(key, []), key=lambda f: f.line)
        news = sorted(new_by.get(key, []), key=lambda f: f.line)
        new_lines = [f.line for f in news]
        rest_old = []
        for f in olds:
            if f.line in new_lines:
                i = new_lines.index(f.line)
                new_lines.pop(i)
                news.pop(i)
                out.same += 1
            else:
                rest_old.append(f)
        for a, b in zip(rest_old, news):
            out.moved.append((a, b))
        out.gone += rest_old[len(news):]
        out.new += news[len(rest_old):]
    out.new.sort(key=sort_key)
    out.gone.sort(key=sort_key)
    out.moved.sort(key=lambda ab: sort_key(ab[1]))
    return out


# ---- TSV files ------------------------------------------------------------------------------

def _clean(text: str) -> str:
    """One TSV cell: tabs and line breaks folded to single spaces."""
    return " ".join(str(text).split())


def tsv_row(values) -> str:
    return "\t".join(_clean(v) for v in values)


def _rows(path: Path, columns: tuple[str, ...], label: str):
    """(line number, dict) for each data row; `#` lines are comments; the header must list
    `columns` first (extra columns after them are allowed and ignored)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EcosystemError(f"{path}: cannot read {label}: {exc}") from None
    header = None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in next(csv.reader(io.StringIO(line), delimiter="\t", quoting=csv.QUOTE_NONE))]
        if header is None:
            if tuple(cells[:len(columns)]) != columns:
                raise EcosystemError(f"{path}:{n}: {label} header must start with "
                                     f"{' '.join(columns)}, found {' '.join(cells)}")
            header = cells
            continue
        if len(cells) < len(columns):
            raise EcosystemError(f"{path}:{n}: {label} row has {len(cells)} columns, expected {len(columns)}")
        yield n, dict(zip(header, cells))


@dataclass(frozen=True)
class Verdict:
    project: str
    rule: str
    path: str
    line: int
    fingerprint: str
    verdict: str
    reason: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.project, self.rule, self.path, self.fingerprint)


def load_verdicts(path: Path) -> dict[tuple, list[Verdict]]:
    """Verdicts by finding key. One key may hold rows for several lines: when a rule stops
    matching an earlier copy of the same code, the next copy takes over its fingerprint (the
    occurrence number shifts), and that copy's verdict is a row of its own with its line."""
    out: dict[tuple, list[Verdict]] = {}
    if not path.is_file():
        return out
    for n, row in _rows(path, VERDICT_COLUMNS, "verdicts"):
        if row["verdict"] not in VERDICTS:
            raise EcosystemError(f"{path}:{n}: verdict must be one of {', '.join(VERDICTS)}, "
                                 f"not {row['verdict']!r}")
        if not row["reason"]:
            raise EcosystemError(f"{path}:{n}: a verdict needs a one-line reason")
        try:
            line = int(row["line"])
        except ValueError:
            raise EcosystemError(f"{path}:{n}: line must be a number, not {row['line']!r}") from None
        v = Verdict(row["project"], row["rule"], row["path"], line, row["fingerprint"], row["verdict"], row["reason"])
        if any(other.line == v.line for other in out.get(v.key, ())):
            raise EcosystemError(f"{path}:{n}: second verdict for {v.project} {v.rule} {v.path} {v.fingerprint}")
        out.setdefault(v.key, []).append(v)
    return out


def verdict_for(f: Finding, verdicts: dict[tuple, list[Verdict]]) -> Verdict | None:
    """The row on the finding's line; else the key's only row (the finding moved)."""
    rows = verdicts.get(f.key, [])
    exact = [v for v in rows if v.line == f.line]
    return exact[0] if exact else (rows[0] if len(rows) == 1 else None)


def join(findings: list[Finding], verdicts: dict[tuple, list[Verdict]]):
    """(finding, verdict or None) per finding, and the verdicts that match no finding (stale:
    the finding is gone or its code changed)."""
    pairs = [(f, verdict_for(f, verdicts)) for f in findings]
    used = {id(v) for _, v in pairs if v is not None}
    stale = [v for rows in verdicts.values() for v in rows if id(v) not in used]
    return pairs, sorted(stale, key=lambda v: (v.project, v.path, v.line, v.rule))


@dataclass(frozen=True)
class ReviewerItem:
    project: str
    id: str
    path: str
    line: int
    area: str
    severity: str
    shape: str
    note: str


def load_reviewer_list(path: Path, project: str) -> list[ReviewerItem]:
    out = []
    for n, row in _rows(path, REVIEWER_COLUMNS, "reviewer list"):
        try:
            line = int(row["line"])
        except ValueError:
            raise EcosystemError(f"{path}:{n}: line must be a number, not {row['line']!r}") from None
        if row["area"] not in AREAS:
            raise EcosystemError(f"{path}:{n}: area must be one of {', '.join(AREAS)}, not {row['area']!r}")
        if row["severity"] not in SEVERITIES:
            raise EcosystemError(f"{path}:{n}: severity must be one of {', '.join(SEVERITIES)}, "
                                 f"not {row['severity']!r}")
        out.append(ReviewerItem(project, row["id"], row["path"], line, row["area"], row["severity"],
                                row["shape"], row["note"]))
    return out


def load_reviewer_lists(folder: Path) -> dict[str, list[ReviewerItem]]:
    """{project: items} for every <project>.tsv in folder."""
    if not folder.is_dir():
        return {}
    return {p.stem: load_reviewer_list(p, p.stem) for p in sorted(folder.glob("*.tsv"))}


def distance(item_line: int, f: Finding) -> int:
    if f.line <= item_line <= f.end_line:
        return 0
    return min(abs(f.line - item_line), abs(f.end_line - item_line))


def matches(item: ReviewerItem, findings: list[Finding]) -> list[Finding]:
    """The findings that report this item: same project and file, region within MATCH_LINES
    lines of the item's line, any rule (the reviewer's area may differ from the rule's)."""
    return [f for f in findings
            if f.project == item.project and f.path == item.path and distance(item.line, f) <= MATCH_LINES]


# ---- the TSV written for verdict writers ----------------------------------------------------

def current_tsv(findings: list[Finding], codes: dict[tuple, str]) -> str:
    lines = ["\t".join(CURRENT_COLUMNS)]
    for f in sorted(findings, key=sort_key):
        lines.append(tsv_row([f.project, f.rule, f.path, f.line, f.fingerprint, f.severity, codes.get(f.key, "")]))
    return "\n".join(lines) + "\n"


def missing_rows(findings: list[Finding], verdicts: dict[tuple, list[Verdict]]) -> list[str]:
    """verdicts.tsv rows, ready to fill in (verdict and reason empty), for findings without one."""
    return [tsv_row([f.project, f.rule, f.path, f.line, f.fingerprint]) + "\t\t"
            for f in sorted(findings, key=sort_key) if verdict_for(f, verdicts) is None]
