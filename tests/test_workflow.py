"""Baselines with reasons, diff-aware scans, doctor, and the Markdown report."""
from __future__ import annotations

import json
import subprocess

import pytest

BUG = "import requests\n\ndef fetch(url):\n    return requests.get(url)\n"


def git(root, *args):
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin", "HOME": str(root)})


def test_baseline_create_then_only_new_findings(cli, write_tree):
    root = write_tree({"a.py": BUG})
    proc = cli("baseline", "create", ".", "--reason", "legacy client, ticket OPS-12", "-o", "base.json", cwd=root)
    assert proc.returncode == 0, proc.stderr
    base = json.loads((root / "base.json").read_text())
    assert [(e["rule"], e["path"], e["line"], e["reason"]) for e in base["findings"]] == [
        ("resilience.python.requests-without-timeout", "a.py", 4, "legacy client, ticket OPS-12")]
    # unchanged code: nothing new, exit 0; the baselined finding is kept only on request
    proc = cli("scan", ".", "--area", "resilience", "--baseline", "base.json", "--format", "json", cwd=root)
    assert proc.returncode == 0 and json.loads(proc.stdout)["findings"] == []
    proc = cli("scan", ".", "--area", "resilience", "--baseline", "base.json", "--format", "sarif",
               "--keep-suppressed", cwd=root)
    res = json.loads(proc.stdout)["runs"][0]["results"]
    assert res[0]["suppressions"] == [{"kind": "external", "justification": "legacy client, ticket OPS-12"}]
    # a new finding is reported
    (root / "b.py").write_text(BUG)
    proc = cli("scan", ".", "--area", "resilience", "--baseline", "base.json", "--format", "json", cwd=root)
    assert proc.returncode == 1
    assert [f["evidence"]["path"] for f in json.loads(proc.stdout)["findings"]] == ["b.py"]


def test_baseline_reason_is_required_and_bad_baseline_is_exit_2(cli, write_tree):
    root = write_tree({"a.py": BUG, "bad.json": "{\"findings\": 3}"})
    assert cli("baseline", "create", ".", cwd=root).returncode == 2
    proc = cli("scan", ".", "--baseline", "bad.json", cwd=root)
    assert proc.returncode == 2 and "bad.json" in proc.stderr and "baseline" in proc.stderr


def test_diff_base_reports_only_changed_lines(cli, write_tree):
    root = write_tree({"old.py": BUG, "touched.py": "import requests\n\ndef a(u):\n    return requests.get(u)\n"})
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-qm", "base")
    (root / "touched.py").write_text("import requests\n\ndef a(u):\n    return requests.get(u)\n\n"
                                     "def b(u):\n    return requests.post(u)\n")
    (root / "new file.py").write_text(BUG)
    proc = cli("scan", ".", "--area", "resilience", "--diff-base", "HEAD", "--format", "json", cwd=root)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert sorted((f["evidence"]["path"], f["evidence"]["start_line"]) for f in doc["findings"]) == [
        ("new file.py", 4), ("touched.py", 7)]
    assert doc["scan"]["diff_base"] == "HEAD"
    md = cli("scan", ".", "--area", "resilience", "--diff-base", "HEAD", "--format", "markdown", cwd=root).stdout
    assert "only lines changed since `HEAD`" in md
    sarif = json.loads(cli("scan", ".", "--area", "resilience", "--diff-base", "HEAD", "--format", "sarif", cwd=root).stdout)
    assert sarif["runs"][0]["invocations"][0]["properties"]["diffBase"] == "HEAD"


def test_diff_base_with_nothing_changed_is_clean(cli, write_tree):
    root = write_tree({"old.py": BUG})
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-qm", "base")
    proc = cli("scan", ".", "--area", "resilience", "--diff-base", "HEAD", "--format", "json", cwd=root)
    assert proc.returncode == 0 and json.loads(proc.stdout)["findings"] == []


def test_diff_base_unknown_ref_is_exit_2(cli, write_tree):
    root = write_tree({"a.py": BUG})
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-qm", "base")
    proc = cli("scan", ".", "--diff-base", "no-such-branch", cwd=root)
    assert proc.returncode == 2 and proc.stderr.startswith("backend-review: error: git rev-parse failed")


def test_doctor_reports_and_fails_without_engine(cli, tmp_path):
    proc = cli("doctor")
    assert proc.returncode == 0 and "semgrep (required)" in proc.stdout and "rules" in proc.stdout
    proc = cli("doctor", env={"BACKEND_REVIEW_SEMGREP": str(tmp_path / "missing")})
    assert proc.returncode == 3 and "MISSING" in proc.stdout


def test_doctor_flags_invalid_config(cli, write_tree):
    root = write_tree({".backend-review.yml": "areas: nope\n"})
    proc = cli("doctor", ".", cwd=root)
    assert proc.returncode == 2 and "INVALID" in proc.stdout


def test_markdown_report_sections_and_verdict(cli):
    proc = cli("scan", "fixtures/apps/orders-service", "--format", "markdown", "--fail-on", "never")
    md = proc.stdout
    assert md.index("## Needs action") < md.index("## Architecture assessment") < md.index("## Scalability concerns") < \
        md.index("## Security recommendations") < md.index("## Performance optimizations")
    assert "**No gate** (fail-on never)" in md
    assert "**Fix:**" in md and "| Critical | High | Medium | Low |" in md
