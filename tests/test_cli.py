"""The real command, run as a user runs it: exit codes, bad input, rules list/show."""
from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from conftest import ROOT

TIMEOUT_BUG = "import requests\n\ndef fetch(url):\n    return requests.get(url)\n"
CLEAN = "import requests\n\ndef fetch(url):\n    return requests.get(url, timeout=5)\n"


def one_line_error(proc) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("backend-review: error: ")
    return lines[0]


def test_exit_1_when_findings_reach_fail_on(cli, write_tree):
    root = write_tree({"svc/client.py": TIMEOUT_BUG})
    proc = cli("scan", "svc", "--area", "resilience", "--format", "json", cwd=root)
    assert proc.returncode == 1, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    assert [(f["rule"], f["evidence"]["path"], f["evidence"]["start_line"]) for f in findings] == [
        ("resilience.python.requests-without-timeout", "svc/client.py", 4)]
    assert findings[0]["evidence"]["code"] == "    return requests.get(url)"
    assert findings[0]["remediation"]


def test_exit_0_below_threshold_and_when_clean(cli, write_tree):
    root = write_tree({"a.py": TIMEOUT_BUG, "b.py": CLEAN})
    assert cli("scan", "a.py", "--area", "resilience", "--fail-on", "critical", cwd=root).returncode == 0
    assert cli("scan", "b.py", "--area", "resilience", cwd=root).returncode == 0


def test_fail_on_from_config_and_flag_overrides(cli, write_tree):
    root = write_tree({"a.py": TIMEOUT_BUG, ".backend-review.yml": "fail-on: critical\nareas: [resilience]\n"})
    assert cli("scan", "a.py", cwd=root).returncode == 0
    assert cli("scan", "a.py", "--fail-on", "high", cwd=root).returncode == 1


def test_severity_override_from_pyproject(cli, write_tree):
    root = write_tree({"a.py": TIMEOUT_BUG, "pyproject.toml":
                       '[tool.backend-review]\nareas = ["resilience"]\n[tool.backend-review.severity]\n'
                       '"resilience.python.requests-without-timeout" = "low"\n'})
    proc = cli("scan", "a.py", "--format", "json", cwd=root)
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["findings"][0]["severity"] == "low"


def test_text_output_groups_by_severity(cli, write_tree):
    root = write_tree({"a.py": TIMEOUT_BUG})
    proc = cli("scan", "a.py", "--area", "resilience", cwd=root, env={"NO_COLOR": "1"})
    assert "High (1)" in proc.stdout and "a.py:4:12" in proc.stdout
    assert "\x1b[" not in proc.stdout


def test_inline_suppression_with_reason(cli, write_tree):
    code = ("import requests\n\ndef fetch(url):\n"
            "    # nosemgrep: resilience.python.requests-without-timeout -- streaming endpoint, bounded by the proxy\n"
            "    return requests.get(url)\n")
    root = write_tree({"a.py": code})
    proc = cli("scan", "a.py", "--area", "resilience", "--format", "json", "--keep-suppressed", cwd=root)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["findings"] == []
    assert doc["suppressed"][0]["suppression"] == {"kind": "inSource",
                                                  "reason": "streaming endpoint, bounded by the proxy"}


# ---- bad input: one line, exit 2 (3 for the engine), no output file ----

def test_missing_path(cli, tmp_path):
    out = tmp_path / "o.sarif"
    proc = cli("scan", tmp_path / "nope", "--format", "sarif", "-o", out)
    assert proc.returncode == 2
    assert "path does not exist" in one_line_error(proc) and "nope" in proc.stderr
    assert not out.exists()


def test_empty_directory(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    out = tmp_path / "o.sarif"
    proc = cli("scan", tmp_path / "empty", "-o", out)
    assert proc.returncode == 2
    assert "no files to scan" in one_line_error(proc)
    assert not out.exists()


def test_directory_without_supported_files(cli, write_tree, tmp_path):
    root = write_tree({"docs/readme.md": "# hi\n", "data/x.csv": "a,b\n"})
    proc = cli("scan", "docs", "data", cwd=root)
    assert proc.returncode == 2 and "no files to scan" in one_line_error(proc)


def test_unreadable_file(cli, tmp_path):
    """As root every file is readable, so the command runs as root without capabilities (setpriv):
    file permissions then apply, and the root-owned checkout stays reachable wherever CI clones it."""
    import shutil
    import tempfile
    root = Path(tempfile.mkdtemp(prefix="br-unreadable-"))
    try:
        root.chmod(0o755)
        (root / "a.py").write_text(TIMEOUT_BUG)
        (root / "a.py").chmod(0)
        if os.geteuid() == 0:
            if not shutil.which("setpriv"):
                pytest.skip("setpriv is needed to drop root's capabilities")
            exe = Path(sys.executable).parent / "backend-review"
            import subprocess
            proc = subprocess.run(["setpriv", "--bounding-set=-all", "--inh-caps=-all",
                                   str(exe), "scan", "a.py"], cwd=root, capture_output=True, text=True,
                                  env={**os.environ, "HOME": str(root)}, timeout=120)
        else:
            proc = cli("scan", "a.py", cwd=root)
        assert proc.returncode == 2 and "cannot read a.py" in one_line_error(proc)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_dangling_symlink_named_explicitly(cli, write_tree):
    root = write_tree({"a.py": TIMEOUT_BUG})
    os.symlink(root / "gone.py", root / "link.py")
    proc = cli("scan", "link.py", cwd=root)
    assert proc.returncode == 2 and "broken symbolic link: link.py" in one_line_error(proc)


def test_invalid_config_names_file_and_key(cli, write_tree):
    root = write_tree({"a.py": TIMEOUT_BUG, ".backend-review.yml": "fail-on: sometimes\n"})
    proc = cli("scan", "a.py", cwd=root)
    line = one_line_error(proc)
    assert proc.returncode == 2 and ".backend-review.yml" in line and "fail-on" in line and "sometimes" in line


def test_invalid_config_yaml_syntax(cli, write_tree):
    root = write_tree({"a.py": TIMEOUT_BUG, ".backend-review.yml": "areas: [resilience\n"})
    proc = cli("scan", "a.py", cwd=root)
    assert proc.returncode == 2 and "invalid YAML" in one_line_error(proc)


def test_unknown_config_key(cli, write_tree):
    root = write_tree({"a.py": TIMEOUT_BUG, "c.yml": "severty: {}\n"})
    proc = cli("scan", "a.py", "--config", "c.yml", cwd=root)
    assert proc.returncode == 2 and "unknown key 'severty'" in one_line_error(proc)


def test_unknown_area(cli, write_tree):
    root = write_tree({"a.py": TIMEOUT_BUG})
    proc = cli("scan", "a.py", "--area", "frontend", cwd=root)
    assert proc.returncode == 2 and "frontend" in proc.stderr


def test_unknown_rule_id(cli, write_tree):
    root = write_tree({"a.py": TIMEOUT_BUG})
    proc = cli("scan", "a.py", "--rule", "resilience.python.does-not-exist", cwd=root)
    assert proc.returncode == 2 and "unknown rule id" in one_line_error(proc)
    proc = cli("rules", "show", "nope.python.nothing")
    assert proc.returncode == 2 and "unknown rule id" in one_line_error(proc)


def test_output_directory_missing(cli, write_tree, tmp_path):
    root = write_tree({"a.py": TIMEOUT_BUG})
    proc = cli("scan", "a.py", "-o", tmp_path / "no" / "such" / "o.sarif", cwd=root)
    assert proc.returncode == 2 and "output directory does not exist" in one_line_error(proc)


def test_engine_missing_exit_3(cli, write_tree, tmp_path):
    root = write_tree({"a.py": TIMEOUT_BUG})
    out = tmp_path / "o.sarif"
    proc = cli("scan", "a.py", "-o", out, cwd=root, env={"BACKEND_REVIEW_SEMGREP": str(tmp_path / "no-semgrep")})
    assert proc.returncode == 3 and "semgrep not found" in one_line_error(proc)
    assert not out.exists()


def test_broken_rule_file(tmp_path):
    """A rule file that fails the schema is named, with the key at fault."""
    from backend_review import rules as rules_mod
    d = tmp_path / "rules" / "api" / "python"
    d.mkdir(parents=True)
    (d / "broken.yaml").write_text("rules:\n  - id: api.python.broken\n    languages: [python]\n"
                                   "    severity: ERROR\n    message: short\n    pattern: foo()\n")
    with pytest.raises(rules_mod.RuleError, match=r"broken.yaml: .*metadata"):
        rules_mod.load_pack(tmp_path / "rules")
    (d / "broken.yaml").write_text("rules: [\n")
    with pytest.raises(rules_mod.RuleError, match=r"broken.yaml:\d+: invalid YAML"):
        rules_mod.load_pack(tmp_path / "rules")


def test_rule_rejected_by_semgrep_is_exit_2(cli, write_tree, tmp_path):
    """A fake pack whose pattern semgrep cannot parse: the error names the rule."""
    fake = tmp_path / "fake-semgrep"
    fake.write_text("#!/bin/sh\ncat <<'EOF'\n"
                    '{"version": "1.185.0", "results": [], "errors": [{"code": 7, "level": "error", '
                    '"type": "Rule parse error", "rule_id": "resilience.python.requests-without-timeout", '
                    '"message": "Invalid pattern for Python"}]}\nEOF\nexit 7\n')
    fake.chmod(0o755)
    root = write_tree({"a.py": TIMEOUT_BUG})
    proc = cli("scan", "a.py", "--area", "resilience", cwd=root, env={"BACKEND_REVIEW_SEMGREP": str(fake)})
    line = one_line_error(proc)
    assert proc.returncode == 2 and "resilience.python.requests-without-timeout" in line


# ---- rules list / show ----

def test_rules_list_and_filters(cli):
    proc = cli("rules", "list")
    assert proc.returncode == 0
    ids = [ln.split()[0] for ln in proc.stdout.splitlines()]
    assert "resilience.python.requests-without-timeout" in ids and ids == sorted(ids)
    proc = cli("rules", "list", "--area", "resilience", "--format", "json")
    assert {r["area"] for r in json.loads(proc.stdout)} == {"resilience"}
    proc = cli("rules", "list", "--severity", "critical", "--format", "json")
    assert {r["severity"] for r in json.loads(proc.stdout)} <= {"critical"}


def test_rules_show_teaches(cli):
    proc = cli("rules", "show", "resilience.python.requests-without-timeout")
    assert proc.returncode == 0
    for heading in ("What it does", "Why is this bad?", "Example", "Use instead", "Remediation", "References",
                    "nosemgrep: resilience.python.requests-without-timeout"):
        assert heading in proc.stdout
    doc = json.loads(cli("rules", "show", "resilience.python.requests-without-timeout", "--format", "json").stdout)
    assert doc["severity"] == "high" and doc["docs"]["example"]


def test_demo_scan_summary_critical_first(cli):
    proc = cli("scan", "fixtures/apps/orders-service", "--fail-on", "never", "--format", "text", env={"NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stderr
    order = [s for s in ("Critical (", "High (", "Medium (", "Low (") if s in proc.stdout]
    positions = [proc.stdout.index(s) for s in order]
    assert positions == sorted(positions) and len(order) >= 2


def test_colour_only_when_asked_or_at_a_terminal(cli, write_tree):
    root = write_tree({"a.py": TIMEOUT_BUG})
    forced = cli("scan", "a.py", "--area", "resilience", cwd=root, env={"FORCE_COLOR": "1"}).stdout
    assert "\x1b[31mHigh (1)" in forced
    piped = cli("scan", "a.py", "--area", "resilience", cwd=root).stdout  # stdout is a pipe here
    assert "\x1b[" not in piped


def test_progress_line_only_on_a_terminal_and_never_in_ci(cli, write_tree):
    """stderr is a pipe in tests: no progress line may appear there."""
    root = write_tree({"a.py": TIMEOUT_BUG})
    proc = cli("scan", "a.py", "--area", "resilience", "--format", "json", cwd=root)
    assert "scanning" not in proc.stderr and "\r" not in proc.stderr


def test_progress_line_at_a_terminal(write_tree):
    """Under a pseudo-terminal (util-linux `script`) the status line appears and is erased."""
    import shutil
    import subprocess
    if not shutil.which("script"):
        pytest.skip("util-linux `script` is needed for a pseudo-terminal")
    root = write_tree({"a.py": TIMEOUT_BUG})
    exe = Path(sys.executable).parent / "backend-review"
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    cmd = f"{exe} scan a.py --area resilience --format json -o out.json"
    shown = subprocess.run(["script", "-qc", cmd, "/dev/null"], cwd=root, capture_output=True, text=True,
                           env=env, timeout=300).stdout
    assert "backend-review: scanning 1 files with" in shown and "\x1b[K" in shown  # erased after
    quiet = subprocess.run(["script", "-qc", cmd, "/dev/null"], cwd=root, capture_output=True, text=True,
                           env={**env, "CI": "true"}, timeout=300).stdout
    assert "scanning" not in quiet
