"""The terminal view: findings grouped by severity (Critical first), then by rule, with the
explanation and fix once per rule and the code of every location under it."""
from __future__ import annotations

import os
import re
import sys

from backend_review.finding import SECTION_TITLES, Finding, ScanReport, Severity

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
COLOURS = {Severity.CRITICAL: "1;31", Severity.HIGH: "31", Severity.MEDIUM: "33", Severity.LOW: "36"}


def clean(text: str) -> str:
    """Neutralise terminal escape sequences and control characters from code and paths."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", text)


def use_colour(stream=None) -> bool:
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty() and os.environ.get("TERM") != "dumb"


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour else text


SUMMARY_LINES_PER_LEVEL = 20


def summary(report: ScanReport, colour: bool = False) -> str:
    """Findings grouped by severity, Critical first, one line each, then the counts."""
    listing = []
    for severity in sorted(Severity, reverse=True):
        group = [f for f in report.findings if f.severity == severity]
        if not group:
            continue
        listing.append(_paint(f"{severity.label} ({len(group)})", COLOURS[severity], colour))
        listing += [f"  {clean(f.path)}:{f.region.start_line}  {f.rule_id}" for f in group[:SUMMARY_LINES_PER_LEVEL]]
        if len(group) > SUMMARY_LINES_PER_LEVEL:
            listing.append(f"  … and {len(group) - SUMMARY_LINES_PER_LEVEL} more")
    return "\n".join(listing) + ("\n" if listing else "") + totals(report, colour)


def by_rule(findings: list[Finding]) -> list[tuple[str, list[Finding]]]:
    """(rule id, its findings in report order), rules in id order: the explanation and fix
    are shown once per rule, the locations under it."""
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        groups.setdefault(f.rule_id, []).append(f)
    return sorted(groups.items())


def gate(report: ScanReport) -> str:
    """The verdict against the configured fail-on threshold, as every format words it."""
    if report.fail_on is None:
        return "no gate (fail-on never)"
    return (f"fails the gate at {report.fail_on.label}" if report.failing()
            else f"passes the gate at {report.fail_on.label}")


NOTICE_KINDS = ("suppression", "baseline")


def notices(report: ScanReport) -> str:
    """Suppression and baseline warnings as stderr lines, for runs whose report is not the
    text view on stdout (which shows them already)."""
    out = []
    for n in report.notifications:
        if n.kind in NOTICE_KINDS:
            where = f"{clean(n.path)}{':' + str(n.line) if n.line else ''}: " if n.path else ""
            out.append(f"backend-review: {n.level}: {where}{clean(n.message)}\n")
    return "".join(out)


def written_line(report: ScanReport, written: list) -> str:
    """One stderr line after a scan that wrote files: where, the counts, the verdict."""
    from backend_review.report import TITLES
    where = ", ".join(f"{TITLES[fmt]} to {clean(str(path))}" for fmt, path in written)
    counts = ", ".join(f"{n} {s.label}" for s, n in report.counts().items())
    extra = f", {len(report.suppressed)} suppressed or baselined" if report.suppressed else ""
    return (f"backend-review: wrote {where}: {len(report.findings)} finding(s) ({counts}){extra}; "
            f"{gate(report)}")


def totals(report: ScanReport, colour: bool = False) -> str:
    counts = report.counts()
    parts = [_paint(f"{n} {s.label}", COLOURS[s], colour and n > 0) for s, n in counts.items()]
    line = (f"backend-review: {len(report.findings)} finding(s) in {report.files_scanned} file(s) "
            f"with {len(report.rules)} rules: " + ", ".join(parts))
    if report.suppressed:
        line += f"; {len(report.suppressed)} suppressed or baselined"
    if report.diff_base:
        line += f"; only lines changed since {clean(report.diff_base)}"
    if report.failure:
        # Never a PASS: a scan that did not complete says nothing about what it missed.
        return (line + f"\nbackend-review: the engine failed: {clean(report.failure)}"
                "\nFAIL: the scan did not complete; findings may be missing\n")
    failing = report.failing()
    if report.fail_on is not None:
        verdict = (f"FAIL: {len(failing)} finding(s) at or above {report.fail_on.label}"
                   if failing else f"PASS: nothing at or above {report.fail_on.label}")
        line += "\n" + verdict
    return line + "\n"


def render(report: ScanReport, colour: bool | None = None) -> str:
    colour = use_colour() if colour is None else colour
    out: list[str] = []
    for severity in sorted(Severity, reverse=True):
        group = [f for f in report.findings if f.severity == severity]
        if not group:
            continue
        out.append(_paint(f"{severity.label} ({len(group)}) - {severity.action}", COLOURS[severity], colour))
        for rule_id, located in by_rule(group):
            first = located[0]
            count = f"  {len(located)} locations" if len(located) > 1 else ""
            out.append(f"  {_paint(rule_id, '1', colour)}  [{SECTION_TITLES[first.section]}]{count}")
            out.append(f"    {clean(first.message)}")
            out.append(f"    fix: {clean(first.remediation)}")
            for f in located:
                out.append(f"    {clean(f.path)}:{f.region.start_line}:{f.region.start_column}")
                for i, code in enumerate(f.snippet.splitlines()[:6]):
                    out.append(f"      {f.region.start_line + i:>5} | {clean(code)}")
                if f.suppression:
                    out.append(f"      suppressed: {clean(f.suppression.justification)}")
            out.append("")
    for n in report.notifications:
        where = f"{clean(n.path)}{':' + str(n.line) if n.line else ''}: " if n.path else ""
        out.append(f"{n.level}: {where}{clean(n.message)}")
    if report.notifications:
        out.append("")
    out.append(totals(report, colour).rstrip("\n"))
    return "\n".join(out) + "\n"
