"""Output through the real command: the format from -o's extension, the one-line summary on
stderr, language and severity choices, and `rules show` with a short id."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import ROOT

BUG = "import requests\n\ndef fetch(url):\n    return requests.get(url)\n\ndef post(u):\n    requests.post(u)\n"


@pytest.mark.parametrize("name,check", [
    ("out.sarif", lambda t: json.loads(t)["version"] == "2.1.0"),
    ("out.sarif.json", lambda t: json.loads(t)["version"] == "2.1.0"),
    ("out.json", lambda t: json.loads(t)["version"] == "1" and "findings" in json.loads(t)),
    ("out.md", lambda t: t.startswith("# backend-review report")),
    ("OUT.MD", lambda t: t.startswith("# backend-review report")),
    ("out.txt", lambda t: "resilience.python.requests-without-timeout" in t and "\x1b" not in t),
])
def test_format_from_output_extension(cli, write_tree, name, check):
    root = write_tree({"a.py": BUG})
    proc = cli("scan", "a.py", "--area", "resilience", "-o", name, cwd=root)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    assert check((root / name).read_text())


def test_explicit_format_wins_over_extension(cli, write_tree):
    root = write_tree({"a.py": BUG})
    proc = cli("scan", "a.py", "--area", "resilience", "--format", "json", "-o", "report.md", cwd=root)
    assert proc.returncode == 1, proc.stderr
    assert json.loads((root / "report.md").read_text())["summary"]["high"] == 2


@pytest.mark.parametrize("name", ["report.xml", "report", "sarif"])
def test_unknown_extension_without_format_is_exit_2_naming_the_file(cli, write_tree, name):
    root = write_tree({"a.py": BUG})
    proc = cli("scan", "a.py", "-o", name, cwd=root)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"backend-review: error: -o {name}: cannot tell the format")
    assert "--format" in lines[0]
    assert not (root / name).exists()
    # stdout without -o stays text
    assert "High (2)" in cli("scan", "a.py", "--area", "resilience", cwd=root).stdout


def test_writing_a_file_prints_one_summary_line(cli, write_tree):
    root = write_tree({"a.py": BUG})
    proc = cli("scan", "a.py", "--area", "resilience", "-o", "out.sarif", "--also", "markdown=summary.md", cwd=root)
    assert proc.returncode == 1
    assert proc.stderr == ("backend-review: wrote SARIF to out.sarif, Markdown to summary.md: 2 finding(s) "
                           "(0 Critical, 2 High, 0 Medium, 0 Low); fails the gate at High\n")
    proc = cli("scan", "a.py", "--area", "resilience", "-o", "out.json", "--fail-on", "critical", cwd=root)
    assert proc.returncode == 0
    assert proc.stderr.endswith("2 finding(s) (0 Critical, 2 High, 0 Medium, 0 Low); passes the gate at Critical\n")
    proc = cli("scan", "a.py", "--area", "resilience", "-o", "out.json", "--fail-on", "never", cwd=root)
    assert proc.stderr.endswith("; no gate (fail-on never)\n")
    # to stdout only: no summary line
    proc = cli("scan", "a.py", "--area", "resilience", "--format", "json", cwd=root)
    assert proc.stderr == ""


def test_severity_choices_are_case_insensitive(cli, write_tree):
    root = write_tree({"a.py": BUG})
    assert cli("scan", "a.py", "--area", "resilience", "--fail-on", "CRITICAL", cwd=root).returncode == 0
    assert cli("scan", "a.py", "--area", "resilience", "--fail-on", "High", cwd=root).returncode == 1
    upper = json.loads(cli("rules", "list", "--severity", "CRITICAL", "--format", "json").stdout)
    lower = json.loads(cli("rules", "list", "--severity", "critical", "--format", "json").stdout)
    assert upper == lower and upper and {r["severity"] for r in upper} == {"critical"}


def test_language_offers_only_languages_with_rules(cli, write_tree):
    from backend_review.rules import load_pack
    with_rules = sorted({r.language for r in load_pack(ROOT / "rules")})
    for args in (("scan", "--help"), ("rules", "list", "--help")):
        help_text = " ".join(cli(*args).stdout.split())
        assert f"--language [{'|'.join(with_rules)}]" in help_text
    if "go" not in with_rules:  # today the pack is Python only: a language without rules is refused
        root = write_tree({"a.py": BUG})
        proc = cli("scan", "a.py", "--language", "go", cwd=root)
        assert proc.returncode == 2 and "Invalid value for '--language': 'go'" in proc.stderr
        assert cli("rules", "list", "--language", "go").returncode == 2


def test_rules_show_accepts_an_unambiguous_short_id(cli):
    full = cli("rules", "show", "resilience.python.requests-without-timeout", "--format", "json")
    for short in ("requests-without-timeout", "python.requests-without-timeout"):
        proc = cli("rules", "show", short, "--format", "json")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == full.stdout


def test_rules_show_unknown_id_suggests_close_matches(cli):
    proc = cli("rules", "show", "requests-without-timout")
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "unknown rule id 'requests-without-timout'" in lines[0]
    assert "did you mean resilience.python.requests-without-timeout" in lines[0]
    proc = cli("rules", "show", "timeout-requests")
    assert proc.returncode == 2 and "resilience.python.requests-without-timeout" in proc.stderr


def test_ambiguous_short_id_lists_the_candidates(tmp_path):
    """Two rules with the same slug in two areas (the bundled pack has none, so a copy of it)."""
    from backend_review import rules as rules_mod
    src = ROOT / "rules" / "resilience" / "python" / "requests-without-timeout.yaml"
    for area in ("resilience", "api"):
        dest = tmp_path / "rules" / area / "python" / src.name
        dest.parent.mkdir(parents=True)
        dest.write_text(src.read_text().replace("resilience.python.", f"{area}.python.")
                        .replace("area: resilience", f"area: {area}"))
    pack = rules_mod.load_pack(tmp_path / "rules")
    assert rules_mod.languages(tmp_path / "rules") == ["python"]
    with pytest.raises(rules_mod.RuleError) as err:
        rules_mod.find(pack, "requests-without-timeout")
    assert str(err.value) == ("rule id 'requests-without-timeout' is ambiguous: "
                              "api.python.requests-without-timeout, resilience.python.requests-without-timeout")
    assert rules_mod.find(pack, "api.python.requests-without-timeout").area == "api"


def test_text_report_groups_by_rule_within_severity(cli, write_tree):
    root = write_tree({"a.py": BUG, "b.py": BUG})
    out = cli("scan", ".", "--area", "resilience", cwd=root, env={"NO_COLOR": "1"}).stdout
    lines = out.splitlines()
    assert lines[0] == "High (4) - fix before merge or deploy"
    assert lines[1] == "  resilience.python.requests-without-timeout  [Scalability concerns]  4 locations"
    assert out.count("This requests call has no timeout") == 1 and out.count("    fix: ") == 1
    assert [ln.strip() for ln in lines if ln.startswith("    ") and ln.strip().endswith(tuple("0123456789"))
            and ".py:" in ln] == ["a.py:4:12", "a.py:7:5", "b.py:4:12", "b.py:7:5"]
    assert "          4 |     return requests.get(url)" in lines
