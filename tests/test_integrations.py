"""GitHub action, pre-commit hook and --also: the files reference what the CLI really has."""
from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BUG = "import requests\n\ndef fetch(url):\n    return requests.get(url)\n"


def scan_flags(cli) -> set[str]:
    return set(re.findall(r"(--[a-z][a-z-]+)", cli("scan", "--help").stdout))


def test_action_uses_only_real_flags(cli):
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    script = "\n".join(s.get("run", "") for s in action["runs"]["steps"])
    used = set(re.findall(r"(--[a-z][a-z-]+)", script)) - {"--quiet"}
    assert used and used <= scan_flags(cli), used - scan_flags(cli)
    uses = [s.get("uses", "") for s in action["runs"]["steps"]]
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)
    assert "GITHUB_STEP_SUMMARY" in script


def test_workflows_are_valid_yaml_and_use_the_action():
    own = yaml.safe_load((ROOT / ".github/workflows/backend-review.yml").read_text())
    assert any(step.get("uses") == "./" for step in own["jobs"]["self-scan"]["steps"])
    example = yaml.safe_load((ROOT / "docs/examples/github-workflow.yml").read_text())
    assert example["permissions"]["security-events"] == "write"


def test_pre_commit_hook_scans_staged_files(cli, write_tree):
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = hooks[0]
    assert hook["id"] == "backend-review" and "python" in hook["types_or"]
    root = write_tree({"clean.py": "x = 1\n", "client.py": BUG})
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "client.py"], cwd=root, check=True)
    staged = subprocess.run(["git", "diff", "--cached", "--name-only"], cwd=root, capture_output=True, text=True,
                            check=True).stdout.split()
    argv = shlex.split(hook["entry"])  # pre-commit runs entry + the staged file names
    assert argv[0] == "backend-review"
    proc = cli(*argv[1:], "--format", "json", *staged, cwd=root, env=env)
    assert proc.returncode == 1
    assert [f["evidence"]["path"] for f in json.loads(proc.stdout)["findings"]] == ["client.py"]


def test_also_writes_more_formats_from_one_scan(cli, write_tree):
    root = write_tree({"a.py": BUG})
    proc = cli("scan", "a.py", "--area", "resilience", "--format", "sarif", "-o", "out.sarif",
               "--also", "markdown=summary.md", "--also", "json=out.json", cwd=root)
    assert proc.returncode == 1, proc.stderr
    assert json.loads((root / "out.sarif").read_text())["runs"][0]["results"]
    assert "# backend-review report" in (root / "summary.md").read_text()
    assert json.loads((root / "out.json").read_text())["summary"]["high"] == 1
    bad = cli("scan", "a.py", "--also", "pdf=x.pdf", cwd=root)
    assert bad.returncode == 2 and "--also" in bad.stderr
