"""The runner's own safety: safe YAML only, no shell, nothing scanned is executed,
semgrep always offline, and the project passes its own pack and bandit."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "runner").rglob("*.py"))
BIN = Path(sys.executable).parent


def calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def dotted(func) -> str:
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        parts.append(func.id)
    return ".".join(reversed(parts))


def test_no_unsafe_calls_in_the_runner():
    banned = {"eval", "exec", "compile", "__import__", "importlib.import_module", "os.system", "os.popen",
              "yaml.load", "yaml.unsafe_load", "yaml.full_load", "pickle.load", "pickle.loads", "marshal.loads",
              "runpy.run_path", "runpy.run_module"}
    problems = []
    for path in SOURCES:
        tree = ast.parse(path.read_text())
        for call in calls(tree):
            name = dotted(call.func)
            if name == "yaml.load" and any(kw.arg == "Loader" and dotted(kw.value).split(".")[-1] in
                                            ("SafeLoader", "CSafeLoader") for kw in call.keywords):
                continue  # yaml.load with a safe loader class is safe loading
            if name in banned:
                problems.append(f"{path.name}:{call.lineno}: {name}")
            for kw in call.keywords:
                if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    problems.append(f"{path.name}:{call.lineno}: shell=")
    assert problems == []


def test_engine_is_always_called_offline(write_tree, tmp_path, cli):
    """A fake semgrep records its argv and environment; the flags must be there."""
    record = tmp_path / "argv.json"
    fake = tmp_path / "semgrep"
    fake.write_text(f"#!{sys.executable}\nimport json, os, sys\n"
                    f"json.dump({{'argv': sys.argv, 'metrics': os.environ.get('SEMGREP_SEND_METRICS')}}, open({str(record)!r}, 'w'))\n"
                    "print(json.dumps({'version': '1.185.0', 'results': [], 'errors': []}))\n")
    fake.chmod(0o755)
    root = write_tree({"a.py": "x = 1\n"})
    proc = cli("scan", "a.py", cwd=root, env={"BACKEND_REVIEW_SEMGREP": str(fake)})
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(record.read_text())
    for flag in ("--metrics=off", "--disable-version-check", "--no-rewrite-rule-ids", "--json"):
        assert flag in seen["argv"]
    assert seen["metrics"] == "off"
    config = seen["argv"][seen["argv"].index("--config") + 1]
    assert not config.startswith(("p/", "r/", "auto")) and config.endswith(".json") and config.startswith("/")


def test_scanned_code_is_never_executed(write_tree, cli):
    """A target whose import would write a marker file: after a scan, no marker."""
    marker = "/tmp/backend-review-executed-marker"
    Path(marker).unlink(missing_ok=True)
    code = (f"open({marker!r}, 'w').write('ran')\nimport requests\nrequests.get('https://x.test')\n")
    root = write_tree({"evil.py": code, "conftest.py": code, "setup.py": code, "__main__.py": code})
    proc = cli("scan", ".", "--fail-on", "never", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert not Path(marker).exists()


def test_yaml_in_rules_is_safe_loaded_even_when_hostile(tmp_path):
    """A rule file with a Python-object tag is rejected, not constructed."""
    from backend_review import rules as rules_mod
    d = tmp_path / "rules" / "api" / "python"
    d.mkdir(parents=True)
    (d / "x.yaml").write_text("rules: !!python/object/apply:os.system ['touch /tmp/br-yaml-pwned']\n")
    try:
        rules_mod.load_pack(tmp_path / "rules")
    except rules_mod.RuleError as exc:
        assert "x.yaml" in str(exc)
    assert not Path("/tmp/br-yaml-pwned").exists()


def test_self_scan_with_own_pack_has_no_high_or_critical(cli):
    proc = cli("scan", "runner", "scripts", "--format", "json", "--fail-on", "high")
    doc = json.loads(proc.stdout)
    bad = [(f["rule"], f["evidence"]["path"], f["evidence"]["start_line"]) for f in doc["findings"]
           if f["severity"] in ("critical", "high")]
    assert bad == [] and proc.returncode == 0, proc.stderr


def test_bandit_finds_nothing_high_in_the_runner():
    proc = subprocess.run([str(BIN / "bandit"), "-q", "-r", str(ROOT / "runner"), "-f", "json", "--severity-level", "high"],
                          capture_output=True, text=True, timeout=300)
    doc = json.loads(proc.stdout)
    assert [(r["filename"], r["line_number"], r["test_id"]) for r in doc["results"]] == []
    assert proc.returncode == 0
