"""Turn the engine's raw results into Findings: rule metadata, snippet, region."""
from __future__ import annotations

import re
from pathlib import Path

from backend_review.engine import EngineRun
from backend_review.finding import Finding, Notification, Region
from backend_review.fingerprint import finding_fingerprint, line_hashes

MAX_SNIPPET_LINES = 12
# Semgrep's error types for a target it could not (fully) parse. These, not a parse by the
# runner's own Python (which rejects valid newer syntax), decide what is a syntax error.
PARSE_ERRORS = frozenset({"Syntax error", "Lexical error", "Other syntax error", "PartialParsing",
                          "AST builder error"})
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def read_lines(path: Path) -> list[str]:
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return []
    return _LINE_BREAK.split(text)


class SourceLines:
    """Each file's lines, read once per scan and shared by every step that needs the code
    (snippets, taint steps, fingerprints, inline suppressions)."""

    def __init__(self, root: Path):
        self.root = root
        self._cache: dict[str, list[str]] = {}

    def __call__(self, path: str) -> list[str]:
        if path not in self._cache:
            self._cache[path] = read_lines(self.root / path)
        return self._cache[path]


def build(run: EngineRun, rules_by_id: dict, lines_of: SourceLines) -> tuple[list[Finding], list[Notification]]:
    findings: list[Finding] = []
    for raw in run.results:
        rule = rules_by_id.get(raw.get("check_id"))
        if rule is None:
            continue  # not one of ours (cannot happen with a merged pack, but never trust input)
        path = str(raw["path"]).replace("\\", "/")
        start, end = raw.get("start", {}), raw.get("end", {})
        region = Region(int(start.get("line", 1)), int(start.get("col", 1)),
                        int(end.get("line", start.get("line", 1))), int(end.get("col", 1)))
        lines = lines_of(path)
        snippet = "\n".join(lines[region.start_line - 1:min(region.end_line, region.start_line - 1 + MAX_SNIPPET_LINES)])
        findings.append(Finding(
            rule_id=rule.id, area=rule.area, section=rule.section, severity=rule.severity,
            confidence=rule.confidence, message=rule.message, remediation=rule.remediation,
            path=path, region=region, snippet=snippet,
            dataflow=_dataflow(raw.get("extra", {}).get("dataflow_trace"), lines_of),
        ))
    findings = _dedupe(findings)
    _fingerprint(findings, lines_of)
    return findings, [_notification(e) for e in run.errors]


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in sorted(findings, key=lambda f: f.sort_key):
        key = (f.rule_id, f.path, f.region)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _fingerprint(findings: list[Finding], lines_of: SourceLines) -> None:
    """Ours: rule + path + matched code + which occurrence of that code it is, so the
    value survives lines inserted above and changes when the matched code changes.
    Also GitHub's line hash of the first line, computed once per file."""
    occurrences: dict[tuple, int] = {}
    file_hashes: dict[str, dict[int, str]] = {}
    for f in sorted(findings, key=lambda f: (f.path, f.region.start_line, f.region.start_column, f.rule_id)):
        lines = lines_of(f.path)
        if f.path not in file_hashes:
            file_hashes[f.path] = line_hashes("\n".join(lines)) if lines else {}
        f.line_hash = file_hashes[f.path].get(f.region.start_line, "")
        code = "\n".join(lines[f.region.start_line - 1:f.region.end_line])
        key = (f.rule_id, f.path, " ".join(code.split()))
        occurrences[key] = occurrences.get(key, 0) + 1
        f.fingerprint = finding_fingerprint(f.rule_id, f.path, code, occurrences[key])
        f.code_key = finding_fingerprint(f.rule_id, "", code, occurrences[key])


def _dataflow(trace, lines_of: SourceLines) -> list[dict]:
    """Semgrep's taint trace as a list of steps {path, line, col, end_line, end_col, code, role}."""
    if not isinstance(trace, dict):
        return []
    steps = []

    def add(loc, role):
        if not isinstance(loc, dict) or "start" not in loc:
            return
        path = str(loc.get("path", "")).replace("\\", "/")
        lines = lines_of(path)
        line = int(loc["start"]["line"])
        code = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        steps.append({"path": path, "line": line, "col": int(loc["start"]["col"]),
                      "end_line": int(loc["end"]["line"]), "end_col": int(loc["end"]["col"]),
                      "code": code, "role": role})

    def cli_loc(node, role):
        # ["CliLoc", [location, content]] or ["CliCall", [[location, content], intermediates, sink]]
        if isinstance(node, list) and len(node) == 2:
            kind, body = node
            if kind == "CliLoc" and isinstance(body, list) and body:
                add(body[0], role)
            elif kind == "CliCall" and isinstance(body, list) and body:
                if isinstance(body[0], list) and body[0]:
                    add(body[0][0], role)
    cli_loc(trace.get("taint_source"), "source")
    for var in trace.get("intermediate_vars") or []:
        add(var.get("location"), "step")
    cli_loc(trace.get("taint_sink"), "sink")
    return steps


def _notification(err: dict) -> Notification:
    level = {"error": "error", "warn": "warning", "warning": "warning", "info": "note"}.get(
        str(err.get("level", "warn")).lower(), "warning")
    path = err.get("path")
    line = None
    spans = err.get("spans") or []
    if spans and isinstance(spans[0], dict):
        line = (spans[0].get("start") or {}).get("line")
    kind_text = str(err.get("type", "error"))
    if isinstance(err.get("type"), list):
        kind_text = str(err["type"][0])
    message = " ".join(str(err.get("message", "")).split())[:500] or kind_text
    if kind_text in PARSE_ERRORS:
        return Notification(level=level, message=f"{kind_text}: {message} (the engine skipped what it could "
                            "not parse; findings in this file may be incomplete)", path=path, line=line, kind="syntax")
    return Notification(level=level, message=f"{kind_text}: {message}", path=path, line=line)
