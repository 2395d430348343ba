"""Baselines with reasons, diff-aware scans, doctor, and the Markdown report."""
from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

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


def commit_all(root, message):
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)


def two_commit_repo(write_tree):
    """old.py's finding predates the base commit; the second commit adds one on touched.py:7."""
    root = write_tree({"old.py": BUG, "touched.py": "import requests\n\ndef a(u):\n    return requests.get(u, timeout=5)\n"})
    git(root, "init", "-q", "-b", "main")
    commit_all(root, "base")
    (root / "touched.py").write_text("import requests\n\ndef a(u):\n    return requests.get(u, timeout=5)\n\n"
                                     "def b(u):\n    return requests.post(u)\n")
    commit_all(root, "feature")
    return root


def located(findings):
    return sorted((f["evidence"]["path"], f["evidence"]["start_line"], f.get("in_diff")) for f in findings)


def test_diff_base_narrows_the_gate_and_keeps_the_full_analysis(cli, write_tree):
    root = two_commit_repo(write_tree)
    (root / "new file.py").write_text(BUG)  # untracked: every line counts as changed
    proc = cli("scan", ".", "--area", "resilience", "--diff-base", "HEAD~1", "--format", "sarif", "-o", "full.sarif",
               "--also", "json=full.json", "--also", "text=gate.txt", "--also", "markdown=gate.md", "--summary", cwd=root)
    assert proc.returncode == 1, proc.stderr
    # SARIF and JSON: every finding of the scan, each marked
    sarif = json.loads((root / "full.sarif").read_text())["runs"][0]
    assert sorted((r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                   r["locations"][0]["physicalLocation"]["region"]["startLine"], r["properties"]["inDiff"])
                  for r in sarif["results"]) == [("new%20file.py", 4, True), ("old.py", 4, False), ("touched.py", 7, True)]
    assert sarif["invocations"][0]["properties"]["diffBase"] == "HEAD~1"
    assert sarif["invocations"][0]["properties"]["filesScanned"] == 3
    doc = json.loads((root / "full.json").read_text())
    assert located(doc["findings"]) == [("new file.py", 4, True), ("old.py", 4, False), ("touched.py", 7, True)]
    assert doc["scan"]["diff_base"] == "HEAD~1"
    # text, Markdown and --summary: changed lines only
    for text in ((root / "gate.txt").read_text(), (root / "gate.md").read_text(), proc.stderr):
        assert "touched.py:7" in text and "new file.py:4" in text.replace("new file\\.py", "new file.py")
        assert "old.py" not in text
    assert "only lines changed since `HEAD" in (root / "gate.md").read_text()


def test_diff_base_exit_code_ignores_findings_off_the_changed_lines(cli, write_tree):
    root = write_tree({"old.py": BUG})
    git(root, "init", "-q", "-b", "main")
    commit_all(root, "base")
    (root / "readme.py").write_text("x = 1\n")
    commit_all(root, "clean change")
    proc = cli("scan", ".", "--area", "resilience", "--diff-base", "HEAD~1", "--format", "sarif", cwd=root)
    assert proc.returncode == 0, proc.stderr  # old.py's High finding is not on a changed line
    results = json.loads(proc.stdout)["runs"][0]["results"]
    assert [(r["ruleId"], r["properties"]["inDiff"]) for r in results] == [
        ("resilience.python.requests-without-timeout", False)]


def test_diff_base_text_shows_only_changed_lines_of_a_whole_analysis(cli, write_tree):
    root = two_commit_repo(write_tree)
    proc = cli("scan", ".", "--area", "resilience", "--diff-base", "HEAD~1", cwd=root)
    assert proc.returncode == 1
    assert "touched.py:7:" in proc.stdout and "old.py" not in proc.stdout
    # unchanged old.py is still analysed (the project model needs every file), only not shown
    assert "in 2 file(s)" in proc.stdout


def test_diff_base_compares_with_the_merge_base(cli, write_tree):
    """`--diff-base main` on a branch behind main: main's newer commits are not the branch's
    changes (as `git diff main...HEAD`), so a line main fixed is not reported as changed."""
    root = write_tree({"a.py": BUG})
    git(root, "init", "-q", "-b", "main")
    commit_all(root, "base")
    git(root, "checkout", "-q", "-b", "feature")
    (root / "b.py").write_text(BUG)
    commit_all(root, "feature adds b.py")
    git(root, "checkout", "-q", "main")
    (root / "a.py").write_text(BUG.replace("requests.get(url)", "requests.get(url, timeout=5)"))
    commit_all(root, "main fixes a.py")
    git(root, "checkout", "-q", "feature")  # a.py:4 still has the bug here, untouched by the branch
    proc = cli("scan", ".", "--area", "resilience", "--diff-base", "main", "--format", "json", cwd=root)
    assert proc.returncode == 1, proc.stderr
    assert located(json.loads(proc.stdout)["findings"]) == [("a.py", 4, False), ("b.py", 4, True)]


def test_diff_base_with_nothing_changed_is_clean(cli, write_tree):
    root = write_tree({"old.py": BUG})
    git(root, "init", "-q")
    commit_all(root, "base")
    proc = cli("scan", ".", "--area", "resilience", "--diff-base", "HEAD", "--format", "json", cwd=root)
    assert proc.returncode == 0
    assert located(json.loads(proc.stdout)["findings"]) == [("old.py", 4, False)]
    proc = cli("scan", ".", "--area", "resilience", "--diff-base", "HEAD", cwd=root)
    assert proc.returncode == 0 and "0 finding(s) in 1 file(s)" in proc.stdout


def test_diff_base_unknown_ref_is_exit_2(cli, write_tree):
    root = write_tree({"a.py": BUG})
    git(root, "init", "-q")
    commit_all(root, "base")
    proc = cli("scan", ".", "--diff-base", "no-such-branch", cwd=root)
    assert proc.returncode == 2
    assert proc.stderr.startswith("backend-review: error: --diff-base no-such-branch: no such commit in ")
    assert "git fetch origin no-such-branch" in proc.stderr and "fetch-depth: 0" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_diff_base_outside_git_is_exit_2(cli, write_tree):
    root = write_tree({"a.py": BUG})
    proc = cli("scan", ".", "--diff-base", "main", cwd=root, env={"GIT_CEILING_DIRECTORIES": str(root.parent)})
    assert proc.returncode == 2
    assert proc.stderr == f"backend-review: error: --diff-base needs a git checkout: {root} is not inside one\n"


def test_diff_base_in_a_shallow_clone_explains_itself(cli, write_tree, tmp_path_factory):
    origin = two_commit_repo(write_tree)
    git(origin, "checkout", "-q", "-b", "feature")
    (origin / "b.py").write_text(BUG)
    commit_all(origin, "feature")
    clone = tmp_path_factory.mktemp("shallow") / "clone"
    git(origin, "clone", "-q", "--depth", "1", "--branch", "feature", f"file://{origin}", str(clone))
    # the base branch was never fetched (actions/checkout's default fetch-depth: 1)
    proc = cli("scan", ".", "--diff-base", "origin/main", cwd=clone)
    assert proc.returncode == 2
    assert "--diff-base origin/main: no such commit" in proc.stderr
    assert "this is a shallow clone" in proc.stderr and "fetch-depth: 0" in proc.stderr
    # fetched, but only its tip: the merge base is missing from the history
    git(clone, "fetch", "-q", "--depth", "1", "origin", "main:refs/remotes/origin/main")
    proc = cli("scan", ".", "--diff-base", "origin/main", cwd=clone)
    assert proc.returncode == 2
    assert "no common ancestor of origin/main and HEAD" in proc.stderr and "fetch-depth: 0" in proc.stderr


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


# --- the GitHub action, the example workflows and the install paths (static) ----------------

ROOT = Path(__file__).resolve().parent.parent


def action_steps():
    return {s.get("name", s.get("uses")): s for s in yaml.safe_load((ROOT / "action.yml").read_text())["runs"]["steps"]}


def github_if(expr: str, exit_code: str, upload: str = "true") -> bool:
    """Evaluate the small subset of GitHub's expression syntax the upload condition uses."""
    expr = expr.strip()
    expr = expr.removeprefix("${{").removesuffix("}}").strip()
    allowed = re.fullmatch(r"[\w\s().\-'=!|&]+", expr)
    assert allowed, f"unexpected syntax in {expr!r}"
    py = (expr.replace("always()", "True").replace("&&", " and ").replace("||", " or ")
          .replace("steps.scan.outputs.exit-code", repr(exit_code)).replace("inputs.upload", repr(upload)))
    assert re.fullmatch(r"[\s()'\w=!]+", py.replace(" and ", " ").replace(" or ", " ")), py
    return bool(eval(py, {"__builtins__": {}}, {}))  # noqa: S307 - a test over a fixed, checked string


def test_action_uploads_only_a_completed_scan():
    upload = action_steps()["Upload SARIF"]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert {code: github_if(upload["if"], code) for code in ("0", "1", "2", "3", "")} == {
        "0": True, "1": True, "2": False, "3": False, "": False}
    assert github_if(upload["if"], "1", upload="false") is False


def test_action_uploads_the_full_analysis_and_narrows_only_the_gate():
    script = action_steps()["Scan"]["run"]
    # SARIF is the -o output: a --diff-base scan writes the full analysis there (proved through
    # the CLI by test_diff_base_narrows_the_gate_and_keeps_the_full_analysis); the job summary
    # is Markdown, which shows only changed lines.
    assert re.search(r"--format sarif --output \"\$BR_SARIF\"", script)
    assert '--also "markdown=$GITHUB_STEP_SUMMARY"' in script
    assert 'args+=(--diff-base "$BR_DIFF_BASE")' in script
    assert action_steps()["Upload SARIF"]["with"]["sarif_file"] == "${{ inputs.sarif-file }}"
    gate = action_steps()["Gate"]
    assert 'exit "${code:-3}"' in gate["run"]
    inputs = yaml.safe_load((ROOT / "action.yml").read_text())["inputs"]
    assert "fetch-depth: 0" in inputs["diff-base"]["description"]
    assert "full analysis" in inputs["diff-base"]["description"]


def test_workflows_use_the_action_at_a_ref_that_exists():
    own = yaml.safe_load((ROOT / ".github/workflows/backend-review.yml").read_text())
    scan_job = own["jobs"]["self-scan"]["steps"]
    assert [s.get("uses") for s in scan_job if "backend-review" in str(s.get("uses", "")) or s.get("uses") == "./"] == ["./"]
    assert scan_job[0]["with"]["fetch-depth"] == 0
    example = yaml.safe_load((ROOT / "docs/examples/github-workflow.yml").read_text())
    steps = example["jobs"]["review"]["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@") and steps[0]["with"]["fetch-depth"] == 0
    refs = [s["uses"].split("@", 1)[1] for s in steps if s.get("uses", "").startswith("backend-review/backend-review@")]
    assert len(refs) == 1
    tags = subprocess.run(["git", "tag", "--list"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    # no release is tagged yet: the branch, a full commit SHA, or a tag that exists
    assert refs[0] == "main" or re.fullmatch(r"[0-9a-f]{40}", refs[0]) or refs[0] in tags, refs[0]


INSTALL_DOCS = ["README.md", "action.yml", "docs/usage.md", "docs/reliability.md", "runner/engine.py",
                *[str(p.relative_to(ROOT)) for p in (ROOT / "docs/examples").glob("*")],
                *[str(p.relative_to(ROOT)) for p in (ROOT / ".github").rglob("*.yml")]]


def test_no_install_path_names_an_unpublished_package():
    """backend-review is not on the package index: every documented install works as written."""
    bad = re.compile(r"\bpipx? install\s+(?:-\S+\s+)*['\"]?backend-review(?![\w/.-])")
    offenders = [(name, m.group()) for name in INSTALL_DOCS for m in bad.finditer((ROOT / name).read_text())]
    assert offenders == []
    readme = (ROOT / "README.md").read_text()
    install = readme[readme.index("## Install and use"):readme.index("### Exit codes")]
    assert "pipx install git+https://github.com/backend-review/backend-review@main" in install
    assert "pip install ." in install and "No release is published" in install


# --- pre-commit --------------------------------------------------------------------------------

# pre-commit's file types (the `identify` package) for each extension the runner scans.
IDENTIFY_TAGS = {".py": "python", ".pyi": "pyi", ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript",
                 ".jsx": "jsx", ".ts": "ts", ".tsx": "tsx", ".go": "go", ".java": "java"}


def test_pre_commit_types_are_the_languages_the_pack_has_rules_for():
    from backend_review import rules, targets
    assert set(IDENTIFY_TAGS) == {ext for exts in targets.EXTENSIONS.values() for ext in exts}
    languages = {lang for r in rules.load_pack() for lang in r.languages}
    hook = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())[0]
    assert sorted(hook["types_or"]) == sorted({IDENTIFY_TAGS[e] for lang in languages for e in targets.EXTENSIONS[lang]})


def run_hook(cli, root, *staged, extra=()):
    hook = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())[0]
    argv = shlex.split(hook["entry"])
    assert argv[0] == "backend-review"
    return cli(*argv[1:], *extra, *staged, cwd=root)


def test_commit_with_nothing_the_pack_reads_passes(cli, write_tree):
    root = write_tree({"web/app.js": "fetch(url)\n", "tool": "#!/usr/bin/env python3\nimport requests\nrequests.get('x')\n",
                       "client.py": BUG})
    proc = run_hook(cli, root, "web/app.js", "tool", extra=("-o", "out.sarif", "--format", "sarif"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ("backend-review: nothing to scan: none of the 2 file(s) given is one the "
                           "selected rules read (.py, .pyi)\n")
    assert proc.stdout == "" and not (root / "out.sarif").exists()
    # staged alongside a Python file, the Python file is scanned and gates the commit
    proc = run_hook(cli, root, "web/app.js", "client.py", extra=("--format", "json"))
    assert proc.returncode == 1
    assert [(f["evidence"]["path"], f["evidence"]["start_line"]) for f in json.loads(proc.stdout)["findings"]] == [
        ("client.py", 4)]


def test_directory_with_nothing_to_scan_is_still_exit_2(cli, write_tree):
    root = write_tree({"web/app.js": "fetch(url)\n"})
    proc = cli("scan", "web", cwd=root)
    assert proc.returncode == 2 and proc.stderr.startswith("backend-review: error: no files to scan in web")
    proc = cli("scan", "web", "web/app.js", cwd=root)  # a directory among the paths: still an error
    assert proc.returncode == 2
