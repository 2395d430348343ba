"""JSON: the persona's finding shape (severity, evidence, remediation, section).

Field names are stable and documented in docs/output.md; schemas/report.schema.json
validates the output.
"""
from __future__ import annotations

import json

from backend_review.finding import Finding, ScanReport

FORMAT_VERSION = "1"


def _finding(f: Finding) -> dict:
    out = {
        "rule": f.rule_id,
        "severity": f.severity.name.lower(),
        "section": f.section,
        "area": f.area,
        "confidence": f.confidence,
        "message": f.message,
        "remediation": f.remediation,
        "evidence": {
            "path": f.path,
            "start_line": f.region.start_line,
            "start_column": f.region.start_column,
            "end_line": f.region.end_line,
            "end_column": f.region.end_column,
            "code": f.snippet,
        },
        "fingerprint": f.fingerprint,
    }
    if f.context:
        out["context"] = {"kind": f.context, "reason": f.context_reason}
    if f.related:
        out["related"] = [{"path": r.path, "line": r.region.start_line, "message": r.message} for r in f.related]
    if f.dataflow:
        out["dataflow"] = [{"role": s["role"], "path": s["path"], "line": s["line"], "code": s["code"]}
                           for s in f.dataflow]
    if f.in_diff is not None:
        out["in_diff"] = f.in_diff
    if f.suppression:
        out["suppression"] = {"kind": f.suppression.kind, "reason": f.suppression.justification}
    return out


def document(report: ScanReport) -> dict:
    counts = report.counts()
    doc = {
        "version": FORMAT_VERSION,
        "tool": {"name": "backend-review", "version": report.tool_version,
                 "engine": f"semgrep {report.engine_version}".strip()},
        "scan": {
            "started": report.started, "ended": report.ended,
            "files_scanned": report.files_scanned, "rules_run": len(report.rules),
            "successful": report.execution_successful, "failure": report.failure,
            "fail_on": report.fail_on.name.lower() if report.fail_on else "never",
            "diff_base": report.diff_base,
        },
        "summary": {s.name.lower(): n for s, n in counts.items()} | {"total": len(report.findings)},
        "findings": [_finding(f) for f in sorted(report.findings, key=lambda f: f.sort_key)],
        "notifications": [{"level": n.level, "kind": n.kind, "message": n.message, "path": n.path,
                           "line": n.line} for n in report.notifications],
    }
    if report.keep_suppressed:
        doc["suppressed"] = [_finding(f) for f in sorted(report.suppressed, key=lambda f: f.sort_key)]
    return doc


def render(report: ScanReport) -> str:
    return json.dumps(document(report), indent=2, ensure_ascii=False) + "\n"
