"""The Markdown report: what needs action first, grouped by rule, code that renders as code,
the verdict from fail-on, and the size cap met by folding locations."""
from __future__ import annotations

import re

import pytest

from backend_review.finding import Finding, Notification, Region, ScanReport, Severity
from backend_review.report import markdown

DEMO = "fixtures/apps/orders-service"
TIMEOUT_MESSAGE = "This requests call has no timeout"


@pytest.fixture(scope="module")
def demo_md():
    from conftest import run_cli
    proc = run_cli("scan", DEMO, "--format", "markdown", "--fail-on", "high", "--no-cache")
    assert proc.returncode == 1, proc.stderr
    return proc.stdout


def test_opens_with_verdict_then_what_needs_action(demo_md):
    lines = demo_md.splitlines()
    assert lines[2] == "**Fails the gate at High**: 4 finding(s) at or above High."
    action = demo_md[demo_md.index("## Needs action"):demo_md.index("## Architecture assessment")]
    rows = [ln for ln in action.splitlines() if ln.startswith("- ")]
    # Critical first, then High, from every section, one row per rule with its locations
    assert [r.split("**")[1] for r in rows] == ["Critical"] + ["High"] * 2
    assert ("- **High** `resilience.python.requests-without-timeout` (Scalability concerns, 2 locations): "
            "`fixtures/apps/orders-service/orders/services/fulfilment.py:12`, "
            "`fixtures/apps/orders-service/orders/services/pricing.py:16`") in rows
    assert any(r.startswith("- **Critical** `database.python.sql-built-from-request-data` (Security recommendations): "
                            "`fixtures/apps/orders-service/orders/api/orders.py:50`") for r in rows)
    assert "Medium" not in action and "Low" not in action


def test_sections_group_by_rule_explanation_once(demo_md):
    sections = [demo_md.index(f"## {t}") for t in ("Architecture assessment", "Scalability concerns",
                                                     "Security recommendations", "Performance optimizations")]
    assert sections == sorted(sections)
    scal = demo_md[sections[1]:sections[2]]
    group = scal[scal.index("### High: `resilience.python.requests-without-timeout` (2 locations)"):]
    group = group[:group.index("\n### ")] if "\n### " in group else group
    assert group.count(TIMEOUT_MESSAGE) == 1 and group.count("**Fix:**") == 1
    assert "- `fixtures/apps/orders-service/orders/services/fulfilment.py:12`" in group
    assert "- `fixtures/apps/orders-service/orders/services/pricing.py:16`" in group
    assert "```python\n" in group
    assert demo_md.count(TIMEOUT_MESSAGE) == 1  # not repeated per location nor in "Needs action"


def test_code_spans_render_as_code(demo_md):
    # the remediation's own code spans are kept, not backslash-escaped
    assert "**Fix:** Pass an explicit `timeout=(connect, read)` such as `timeout=(3.05, 10)`" in demo_md
    assert "\\`" not in demo_md


def test_backticks_and_markup_from_the_scanned_code(cli, write_tree):
    code = ('import requests\n\ndef fetch(url):\n    return requests.get("```" + url + "`@team <b>")\n')
    root = write_tree({"we`ird @team.py": code})
    md = cli("scan", ".", "--area", "resilience", "--format", "markdown", cwd=root).stdout
    # a path holding a backtick: a longer fence around it
    assert "- ``we`ird @team.py:4``" in md
    # code holding a run of three backticks: a four-backtick fenced block
    assert '  ````python\n      return requests.get("```" + url + "`@team <b>")\n  ````' in md


@pytest.mark.parametrize("fail_on,expected", [
    ("critical", "**Passes the gate at Critical**: nothing at or above Critical."),
    ("high", "**Fails the gate at High**: 1 finding(s) at or above High."),
    ("never", "**No gate** (fail-on never): 1 finding(s) reported, none fails the build."),
])
def test_verdict_follows_fail_on(cli, write_tree, fail_on, expected):
    root = write_tree({"a.py": "import requests\n\ndef f(u):\n    return requests.get(u)\n"})
    proc = cli("scan", "a.py", "--area", "resilience", "--format", "markdown", "--fail-on", fail_on, cwd=root)
    assert proc.stdout.splitlines()[2] == expected


def test_verdict_follows_fail_on_from_config(cli, write_tree):
    root = write_tree({"a.py": "import requests\n\ndef f(u):\n    return requests.get(u)\n",
                       ".backend-review.yml": "fail-on: medium\nareas: [resilience]\n"})
    md = cli("scan", "a.py", "--format", "markdown", cwd=root).stdout
    assert md.splitlines()[2] == "**Fails the gate at Medium**: 1 finding(s) at or above Medium."


def _report(findings, notes=()):
    return ScanReport(findings=findings, rules=[], notifications=list(notes), root="/", files_scanned=1,
                      tool_version="0", engine_version="", execution_successful=True, failure=None,
                      fail_on=Severity.HIGH, started="", ended="")


def _finding(rule, i, severity=Severity.HIGH):
    return Finding(rule_id=rule, area="api", section="architecture", severity=severity, confidence="high",
                   message="Explained once. " + "m" * 300, remediation="Fixed once.", path=f"pkg/f{i}.py",
                   region=Region(i + 1, 1, i + 1, 2), snippet="x = call()  # " + "y" * 400)


def test_cap_is_met_by_folding_locations_not_repeating_text():
    findings = [_finding("api.python.one-rule", i) for i in range(1500)]
    full = markdown.render(_report(findings))  # ~700 kB: fits whole
    assert len(full.encode()) < markdown.LIMIT_BYTES and full.count("Explained once.") == 1
    assert full.count("```python") == 1500 and "folded" not in full
    out = markdown.render(_report(findings), limit=20_000)
    assert len(out.encode()) <= 20_000
    assert out.count("Explained once.") == 1 and out.count("Fixed once.") == 1
    listed = len(re.findall(r"^- `pkg/f\d+\.py:\d+`$", out, re.M))
    folded = int(re.search(r"- … and (\d+) more location\(s\)", out).group(1))
    assert listed + folded == 1500 and 0 < listed < 1500
    assert "```python" not in out  # the code went first, then locations were counted
    assert f"({folded} not listed)" in out


def test_code_goes_before_locations():
    findings = [_finding("api.python.one-rule", i) for i in range(300)]
    out = markdown.render(_report(findings), limit=90_000)
    assert len(out.encode()) <= 90_000
    assert 0 < out.count("```python") < 300  # some code kept, every location still listed
    assert len(re.findall(r"^- `pkg/f\d+\.py:\d+`$", out, re.M)) == 300 and "more location" not in out


def test_many_rules_past_any_folding_leave_out_whole_groups():
    findings = [_finding(f"api.python.rule-{i}", i) for i in range(400)]
    out = markdown.render(_report(findings, [Notification("warning", "n" * 50, f"p{i}.py") for i in range(500)]),
                          limit=60_000)
    assert len(out.encode()) <= 60_000
    assert "rule group(s) not shown" in out
    shown = out.count("### High:")
    assert 0 < shown < 400 and out.count("**Fix:**") == shown  # no group cut in half
    assert "- … and 400 more, in the SARIF and JSON outputs" in out  # notes capped at 100
