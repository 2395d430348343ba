"""The persona's report in Markdown: four sections, severity groups, Critical first.

Fits a GitHub job summary (1 MiB cap) or a pull-request comment: when the report would
be too large, whole findings are folded into counts with a note, never cut mid-finding.
"""
from __future__ import annotations

import re

from backend_review.finding import SECTION_TITLES, SECTIONS, Finding, ScanReport, Severity
from backend_review.report.text import clean

LIMIT_BYTES = 1_000_000  # GitHub's job-summary cap is 1 MiB; keep a margin
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def escape(text: str) -> str:
    """Escape Markdown/HTML so code and paths from the scanned repo cannot break the layout."""
    return _MD_SPECIAL.sub(r"\\\1", clean(" ".join(text.split())))


def _code_block(code: str) -> str:
    code = clean(code)
    longest = max((len(m) for m in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{code}\n{fence}"


def verdict(report: ScanReport) -> str:
    counts = report.counts()
    if report.failure:
        return "**Incomplete scan**: the engine failed; results below may be partial."
    if counts[Severity.CRITICAL] or counts[Severity.HIGH]:
        return "**Must fix before merge**: Critical or High findings are present."
    if counts[Severity.MEDIUM]:
        return "**Mergeable; fix in the current cycle**: Medium findings are present."
    if counts[Severity.LOW]:
        return "**Mergeable**: only Low findings; consider them and document if deferred."
    return "**Clean**: no findings."


def _finding(f: Finding) -> str:
    return (f"- **{f.severity.label}** `{f.rule_id}` at `{escape(f.path)}:{f.region.start_line}`  \n"
            f"  {escape(f.message)}\n\n"
            + "\n".join("  " + ln for ln in _code_block(f.snippet).splitlines())
            + f"\n\n  **Remediation:** {escape(f.remediation)}\n")


def render(report: ScanReport, limit: int = LIMIT_BYTES) -> str:
    counts = report.counts()
    head = ["# backend-review report", "",
            verdict(report), "",
            "| Critical | High | Medium | Low |", "| --- | --- | --- | --- |",
            "| " + " | ".join(str(counts[s]) for s in sorted(Severity, reverse=True)) + " |", "",
            f"{report.files_scanned} files scanned with {len(report.rules)} rules"
            + (f"; only lines changed since `{escape(report.diff_base)}`" if report.diff_base else "")
            + (f"; {len(report.suppressed)} suppressed or baselined" if report.suppressed else "") + ".", ""]
    body: list[str] = []
    used = len("\n".join(head).encode())
    omitted = 0
    for section in SECTIONS:
        in_section = sorted((f for f in report.findings if f.section == section), key=lambda f: f.sort_key)
        body.append(f"## {SECTION_TITLES[section]}\n")
        if not in_section:
            body.append("No findings.\n")
            continue
        for severity in sorted(Severity, reverse=True):
            group = [f for f in in_section if f.severity == severity]
            if not group:
                continue
            body.append(f"### {severity.label} ({len(group)})\n")
            for f in group:
                block = _finding(f)
                size = len(block.encode())
                if used + size > limit - 2000:
                    omitted += 1
                    continue
                used += size
                body.append(block)
    if omitted:
        body.append(f"> **{omitted} finding(s) not shown** to keep this report under "
                    f"{limit // 1000} kB; see the SARIF or JSON output for all of them.\n")
    if report.notifications:
        body.append("## Scan notes\n")
        body += [f"- {n.level}: {escape(n.path or '')}{':' + str(n.line) if n.line else ''} {escape(n.message)}"
                 for n in report.notifications]
        body.append("")
    return "\n".join(head + body).rstrip() + "\n"
