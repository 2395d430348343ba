"""Suppression hygiene and baselines that work from any folder, through the real command."""
from __future__ import annotations

import json
import subprocess

RULE = "resilience.python.requests-without-timeout"
CODE = """import requests

def streamed(u):
    # nosemgrep: requests-without-timeout -- streaming, bounded by the proxy
    return requests.get(u)

def fixed(u):
    return requests.get(u, timeout=3)  # nosemgrep: requests-without-timeout -- stale since the fix

def typo(u):
    return requests.get(u, timeout=3)  # nosemgrep: requests-without-timout -- a typo

def elsewhere(u):
    return requests.get(u, timeout=3)  # nosemgrep: api.python.drf-list-view-pagination-disabled -- not selected

def bare(u):
    return requests.get(u, timeout=3)  # nosemgrep
"""
BUG = "import requests\n\ndef fetch(url):\n    return requests.get(url)\n"


def git(root, *args):
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin", "HOME": str(root)})


def sarif_notes(path):
    inv = json.loads(path.read_text())["runs"][0]["invocations"][0]
    return [(n["descriptor"]["id"], n["level"], n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             n["locations"][0]["physicalLocation"]["region"]["startLine"], n["message"]["text"])
            for n in inv.get("toolExecutionNotifications", [])]


def test_unknown_and_unused_nosemgrep_are_warnings(cli, write_tree):
    root = write_tree({"svc/a.py": CODE})
    proc = cli("scan", "svc", "--area", "resilience", "-o", "out.sarif", cwd=root)
    assert proc.returncode == 0, proc.stderr
    notes = sarif_notes(root / "out.sarif")
    assert [(k, lvl, uri, line) for k, lvl, uri, line, _ in notes] == [
        ("backend-review/suppression", "warning", "svc/a.py", 8),
        ("backend-review/suppression", "warning", "svc/a.py", 11)]
    assert "unused suppression: nosemgrep: requests-without-timeout suppresses nothing" in notes[0][4]
    assert "unknown rule id 'requests-without-timout'" in notes[1][4]
    # the same on stderr, one line each with file:line, then the summary line
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("backend-review: warning: svc/a.py:8: unused suppression")
    assert lines[1].startswith("backend-review: warning: svc/a.py:11: nosemgrep names an unknown rule id")
    assert lines[2].startswith("backend-review: wrote SARIF to out.sarif") and len(lines) == 3
    # the text report shows them itself (and stderr stays quiet)
    text = cli("scan", "svc", "--area", "resilience", cwd=root, env={"NO_COLOR": "1"})
    assert "warning: svc/a.py:8: unused suppression" in text.stdout and text.stderr == ""
    doc = json.loads(cli("scan", "svc", "--area", "resilience", "--format", "json", cwd=root).stdout)
    assert [(n["kind"], n["line"]) for n in doc["notifications"]] == [("suppression", 8), ("suppression", 11)]


def test_unused_is_not_judged_for_rules_that_did_not_run(cli, write_tree):
    root = write_tree({"a.py": CODE})
    # only the auth area runs: the resilience comments name rules that did not run here
    proc = cli("scan", "a.py", "--area", "auth", "--format", "json", cwd=root)
    notes = json.loads(proc.stdout)["notifications"]
    assert [(n["line"], "unknown" in n["message"]) for n in notes] == [(11, True)]
    # a rule excluded by --ignore did not run either
    proc = cli("scan", "a.py", "--area", "resilience", "--ignore", RULE, "--format", "json", cwd=root)
    assert [n["line"] for n in json.loads(proc.stdout)["notifications"]] == [11]


def test_missing_reason_is_honoured_by_default_and_an_error_when_required(cli, write_tree):
    code = "import requests\n\ndef f(u):\n    return requests.get(u)  # nosemgrep: requests-without-timeout\n"
    root = write_tree({"a.py": code})
    proc = cli("scan", "a.py", "--area", "resilience", "--format", "json", cwd=root)
    assert proc.returncode == 0 and json.loads(proc.stdout)["notifications"] == []
    (root / ".backend-review.yml").write_text("require-suppression-reason: true\n")
    proc = cli("scan", "a.py", "--area", "resilience", "--format", "json", cwd=root)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert [(f["rule"], f["evidence"]["start_line"]) for f in doc["findings"]] == [(RULE, 4)]
    assert [(n["level"], n["kind"], n["path"], n["line"]) for n in doc["notifications"]] == [
        ("error", "suppression", "a.py", 4)]
    assert "not honoured" in doc["notifications"][0]["message"]
    assert "backend-review: error: a.py:4: nosemgrep without a reason" in proc.stderr
    (root / "a.py").write_text(code.replace("timeout\n", "timeout -- bounded by the caller\n"))
    assert cli("scan", "a.py", "--area", "resilience", cwd=root).returncode == 0
    (root / ".backend-review.yml").write_text("require-suppression-reason: yes please\n")
    bad = cli("scan", "a.py", cwd=root)
    assert bad.returncode == 2 and "require-suppression-reason" in bad.stderr


def test_diff_scan_judges_only_changed_lines(cli, write_tree):
    root = write_tree({"a.py": CODE})
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-qm", "base")
    (root / "a.py").write_text(CODE + "\ndef new(u):\n    return requests.get(u, timeout=1)  # nosemgrep: " + RULE
                               + " -- old habit\n")
    proc = cli("scan", ".", "--area", "resilience", "--diff-base", "HEAD", "--format", "json", cwd=root)
    assert [n["line"] for n in json.loads(proc.stdout)["notifications"]] == [20]


# ---- baselines ----

def test_baseline_matches_from_any_folder_of_the_repository(cli, write_tree):
    root = write_tree({"svc/a.py": BUG, "svc/pkg/b.py": BUG})
    git(root, "init", "-q")
    # created at the repository root, used from a subfolder
    proc = cli("baseline", "create", ".", "--reason", "legacy, OPS-12", "-o", "base.json", cwd=root)
    assert proc.returncode == 0, proc.stderr
    base = json.loads((root / "base.json").read_text())
    assert base["version"] == 2
    assert [(e["rule"], e["path"], e["line"]) for e in base["findings"]] == [
        (RULE, "svc/a.py", 4), (RULE, "svc/pkg/b.py", 4)]
    proc = cli("scan", ".", "--area", "resilience", "--baseline", "../base.json", "--format", "json",
               cwd=root / "svc")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["findings"] == [] and proc.stderr == ""
    proc = cli("scan", ".", "--area", "resilience", "--baseline", "../../base.json", "--format", "json",
               cwd=root / "svc" / "pkg")
    assert proc.returncode == 0 and json.loads(proc.stdout)["findings"] == []
    # created from a subfolder into the root, used from the root; a new finding still counts
    proc = cli("baseline", "create", ".", "--reason", "r", "-o", "../base2.json", cwd=root / "svc")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((root / "base2.json").read_text())["findings"][0]["path"] == "svc/a.py"
    (root / "svc" / "new.py").write_text(BUG)
    proc = cli("scan", ".", "--area", "resilience", "--baseline", "base2.json", "--format", "json", cwd=root)
    assert proc.returncode == 1
    assert [(f["evidence"]["path"], f["evidence"]["start_line"]) for f in json.loads(proc.stdout)["findings"]] == [
        ("svc/new.py", 4)]


def test_baseline_outside_git_is_relative_to_its_folder(cli, write_tree):
    root = write_tree({"proj/svc/a.py": BUG})
    proj = root / "proj"
    assert cli("baseline", "create", "svc", "--reason", "r", "-o", "base.json", cwd=proj).returncode == 0
    assert json.loads((proj / "base.json").read_text())["findings"][0]["path"] == "svc/a.py"
    proc = cli("scan", "a.py", "--area", "resilience", "--baseline", "../base.json", cwd=proj / "svc")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_baseline_that_matches_nothing_says_so(cli, write_tree):
    root = write_tree({"a.py": BUG, "clean.py": "x = 1\n"})
    assert cli("baseline", "create", "a.py", "--reason", "r", "-o", "base.json", cwd=root).returncode == 0
    (root / "a.py").write_text(BUG.replace("get(url)", "get(url, timeout=3)"))
    proc = cli("scan", ".", "--area", "resilience", "--baseline", "base.json", "--format", "json", cwd=root)
    assert proc.returncode == 0
    warning = [ln for ln in proc.stderr.splitlines() if "baseline" in ln]
    assert len(warning) == 1 and warning[0].startswith(
        "backend-review: warning: baseline base.json: none of its 1 entries matched a finding")
    assert [n["kind"] for n in json.loads(proc.stdout)["notifications"]] == ["baseline"]


def test_version_1_baseline_still_matches(cli, write_tree):
    root = write_tree({"a.py": BUG})
    fp = json.loads(cli("scan", "a.py", "--area", "resilience", "--format", "json", cwd=root).stdout)[
        "findings"][0]["fingerprint"]
    (root / "old.json").write_text(json.dumps({"version": 1, "findings": [{"fingerprint": fp, "reason": "old"}]}))
    proc = cli("scan", "a.py", "--area", "resilience", "--baseline", "old.json", "--format", "json", cwd=root)
    assert proc.returncode == 0 and json.loads(proc.stdout)["findings"] == []
