"""The persona's report in Markdown, for a pull-request comment or a job summary.

It opens with the verdict against the configured fail-on threshold and what needs action
(Critical and High from every section, Critical first), then the four sections; in each,
findings are grouped by severity and rule: the explanation and fix once, the locations
under it. Code and paths from the scanned repository go into code spans and fenced blocks
(a fence longer than any backtick run inside), so they render as code and cannot break the
layout or mention anyone. The 1 MiB job-summary cap is met by folding locations (first the
code under them, then the locations themselves into a count), never by cutting a finding.
"""
from __future__ import annotations

import re
from pathlib import PurePosixPath

from backend_review.finding import SECTION_TITLES, SECTIONS, Finding, ScanReport, Severity
from backend_review.report.text import by_rule, clean
from backend_review.targets import EXTENSIONS

LIMIT_BYTES = 1_000_000  # GitHub's job-summary cap is 1 MiB; keep a margin
ACTION_LOCATIONS = 5  # locations listed per rule in "Needs action" (all are in the sections below)
MAX_NOTES = 100
# Markdown and HTML syntax outside code spans; `$` is GitHub's math, `&` starts entities.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~$&])")
_LINE_START = re.compile(r"^([-+=]|\d+[.)])")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_LANGUAGE = {ext: lang for lang, exts in EXTENSIONS.items() for ext in exts}
# Folding, finest first: (locations shown with their code per rule, locations listed per rule).
LEVELS = ((None, None), (3, None), (1, None), (0, None), (0, 100), (0, 20), (0, 5), (0, 1), (0, 0))


def escape(text: str) -> str:
    """Plain text (one line) with Markdown/HTML syntax escaped."""
    return _LINE_START.sub(r"\\\1", _MD_SPECIAL.sub(r"\\\1", clean(" ".join(text.split()))))


def code_span(text: str) -> str:
    """Inline code that renders as written, whatever backticks it holds."""
    text = clean(text).replace("\n", "\\x0a").replace("\t", " ")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith(("`", " ")) or text.endswith(("`", " ")):
        text = f" {text} "  # CommonMark strips one space each side
    return f"{fence}{text}{fence}"


def prose(text: str) -> str:
    """A rule's message or remediation: its `code` spans kept as code, the rest escaped."""
    out, at = [], 0
    text = " ".join(text.split())
    for m in _CODE_SPAN.finditer(text):
        out += [_MD_SPECIAL.sub(r"\\\1", clean(text[at:m.start()])), code_span(m.group(2))]
        at = m.end()
    out.append(_MD_SPECIAL.sub(r"\\\1", clean(text[at:])))
    return _LINE_START.sub(r"\\\1", "".join(out))


def code_block(code: str, path: str = "") -> str:
    code = clean(code)
    longest = max((len(m) for m in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    lang = _LANGUAGE.get(PurePosixPath(path).suffix.lower(), "")
    return f"{fence}{lang}\n{code}\n{fence}"


def _where(f: Finding) -> str:
    return code_span(f"{f.path}:{f.region.start_line}")


def verdict(report: ScanReport) -> str:
    """The gate's verdict, worded from the configured fail-on threshold."""
    lines = []
    if report.failure:
        lines.append("**Incomplete scan**: the engine failed; results below may be partial.\n")
    if report.fail_on is None:
        lines.append(f"**No gate** (fail-on never): {len(report.findings)} finding(s) reported, "
                     "none fails the build.")
    elif report.failing():
        lines.append(f"**Fails the gate at {report.fail_on.label}**: {len(report.failing())} finding(s) "
                     f"at or above {report.fail_on.label}.")
    else:
        lines.append(f"**Passes the gate at {report.fail_on.label}**: nothing at or above "
                     f"{report.fail_on.label}.")
    return "\n".join(lines)


def _needs_action(report: ScanReport) -> list[str]:
    out = ["## Needs action\n"]
    urgent = [s for s in sorted(Severity, reverse=True) if s >= Severity.HIGH]
    rows = []
    for severity in urgent:
        for rule_id, located in by_rule([f for f in report.findings if f.severity == severity]):
            shown = ", ".join(_where(f) for f in located[:ACTION_LOCATIONS])
            more = f" and {len(located) - ACTION_LOCATIONS} more" if len(located) > ACTION_LOCATIONS else ""
            count = f", {len(located)} locations" if len(located) > 1 else ""
            rows.append(f"- **{severity.label}** {code_span(rule_id)} ({SECTION_TITLES[located[0].section]}"
                        f"{count}): {shown}{more}")
    if not rows:
        return out + ["Nothing Critical or High.\n"]
    return out + ["Critical and High findings from every section, Critical first: "
                  f"{Severity.CRITICAL.action}, then {Severity.HIGH.action}.\n"] + rows + [""]


def _rule_group(severity: Severity, rule_id: str, located: list[Finding], with_code: int | None,
                listed: int | None) -> tuple[str, int]:
    """One rule's block and how many of its locations were folded away."""
    first = located[0]
    count = f" ({len(located)} locations)" if len(located) > 1 else ""
    lines = [f"### {severity.label}: {code_span(rule_id)}{count}\n", prose(first.message) + "\n",
             f"**Fix:** {prose(first.remediation)}\n"]
    shown = located if listed is None else located[:listed]
    for i, f in enumerate(shown):
        lines.append(f"- {_where(f)}")
        if with_code is None or i < with_code:
            lines += ["", *("  " + ln if ln else ln for ln in code_block(f.snippet, f.path).splitlines()), ""]
    folded = len(located) - len(shown)
    if folded:
        lines.append(f"- … and {folded} more location(s), listed in the SARIF and JSON outputs")
    return "\n".join(lines).rstrip("\n") + "\n", folded


def _sections(report: ScanReport, with_code: int | None, listed: int | None,
              budget: int | None = None) -> tuple[list[str], int, int]:
    """The four sections, the number of locations folded and (with a byte budget, the last
    resort) the number of whole rule groups left out."""
    body, folded, omitted, used = [], 0, 0, 0
    for section in SECTIONS:
        body.append(f"## {SECTION_TITLES[section]}\n")
        in_section = [f for f in report.findings if f.section == section]
        if not in_section:
            body.append("No findings.\n")
            continue
        for severity in sorted(Severity, reverse=True):
            for rule_id, located in by_rule([f for f in in_section if f.severity == severity]):
                block, n = _rule_group(severity, rule_id, located, with_code, listed)
                used += len(block.encode()) + 1
                if budget is not None and used > budget:
                    omitted += 1
                    continue
                body.append(block)
                folded += n
    return body, folded, omitted


def _notes(report: ScanReport) -> list[str]:
    if not report.notifications:
        return []
    out = ["## Scan notes\n"]
    for n in report.notifications[:MAX_NOTES]:
        where = code_span(f"{n.path}{':' + str(n.line) if n.line else ''}") + " " if n.path else ""
        out.append(f"- {n.level}: {where}{escape(n.message)}")
    if len(report.notifications) > MAX_NOTES:
        out.append(f"- … and {len(report.notifications) - MAX_NOTES} more, in the SARIF and JSON outputs")
    return out + [""]


def render(report: ScanReport, limit: int = LIMIT_BYTES) -> str:
    counts = report.counts()
    head = ["# backend-review report", "", verdict(report), "",
            "| Critical | High | Medium | Low |", "| --- | --- | --- | --- |",
            "| " + " | ".join(str(counts[s]) for s in sorted(Severity, reverse=True)) + " |", "",
            f"{report.files_scanned} files scanned with {len(report.rules)} rules"
            + (f"; only lines changed since {code_span(report.diff_base)}" if report.diff_base else "")
            + (f"; {len(report.suppressed)} suppressed or baselined" if report.suppressed else "") + ".", ""]
    head += _needs_action(report)
    tail = _notes(report)
    for with_code, listed in LEVELS:
        body, folded, _ = _sections(report, with_code, listed)
        text = _join(head, body, tail, limit, folded, with_code is not None)
        if len(text.encode()) <= limit:
            return text
    # Even one line per rule is too long (thousands of rules): leave whole rule groups out.
    fixed = len(_join(head, [], tail, limit, 0, True).encode()) + 300
    body, folded, omitted = _sections(report, 0, 0, budget=limit - fixed)
    body.append(f"> **{omitted} rule group(s) not shown** to keep this report under {limit // 1000} kB; "
                "see the SARIF or JSON output for all of them.\n")
    return _join(head, body, tail, limit, folded, True)


def _join(head: list[str], body: list[str], tail: list[str], limit: int, folded: int, shortened: bool) -> str:
    if shortened:
        body = body + [f"> Locations were folded to keep this report under {limit // 1000} kB"
                       + (f" ({folded} not listed)" if folded else "")
                       + "; the SARIF and JSON outputs have all of them with their code.\n"]
    return "\n".join(head + body + tail).rstrip() + "\n"
