"""Engine faults, simulated with a fake semgrep: the runner says what happened, keeps
what the engine produced, writes a valid SARIF whose invocation tells the truth, exits 3."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parent.parent
FAKE = ROOT / "tests" / "fake" / "semgrep.py"
SCHEMA = json.loads((ROOT / "schemas" / "sarif-schema-2.1.0.json").read_text())
CODE = "import requests\nrequests.get('https://x.test')\n"


def scan(cli, root, mode, *extra):
    out = root / "out.sarif"
    proc = cli("scan", "a.py", "b.py", "--area", "resilience", "--format", "sarif", "-o", out, *extra,
               cwd=root, env={"BACKEND_REVIEW_SEMGREP": str(FAKE), "FAKE_SEMGREP_MODE": mode})
    doc = json.loads(out.read_text()) if out.exists() else None
    if doc is not None:
        errors = list(jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER).iter_errors(doc))
        assert errors == [], errors[0].message
    return proc, doc


@pytest.fixture
def root(write_tree):
    return write_tree({"a.py": CODE, "b.py": CODE})


def test_fake_engine_ok_is_a_normal_run(cli, root):
    proc, doc = scan(cli, root, "ok")
    assert proc.returncode == 1
    assert doc["runs"][0]["invocations"][0]["executionSuccessful"] is True
    assert len(doc["runs"][0]["results"]) == 2


@pytest.mark.parametrize("mode,expect", [
    ("crash", "semgrep exited with code 2: RuntimeError: semgrep-core crashed"),
    ("invalid-json", "not valid JSON"),
    ("signal", "killed by signal SIGKILL"),
])
def test_engine_failure_exit_3_with_truthful_sarif(cli, root, mode, expect):
    proc, doc = scan(cli, root, mode)
    assert proc.returncode == 3, proc.stderr
    assert expect in proc.stderr and proc.stderr.count("\n") == 1
    inv = doc["runs"][0]["invocations"][0]
    assert inv["executionSuccessful"] is False
    assert any(expect in n["message"]["text"] for n in inv["toolExecutionNotifications"])


def test_engine_error_code_keeps_results_it_produced(cli, root):
    proc, doc = scan(cli, root, "error-code-with-results")
    assert proc.returncode == 3
    assert "out of memory" in proc.stderr
    assert len(doc["runs"][0]["results"]) == 2
    assert doc["runs"][0]["invocations"][0]["executionSuccessful"] is False


def test_whole_run_timeout_stops_the_engine(cli, root):
    proc, doc = scan(cli, root, "hang", "--engine-timeout", "2")
    assert proc.returncode == 3
    assert "did not finish within 2 s" in proc.stderr
    assert doc["runs"][0]["invocations"][0]["executionSuccessful"] is False


def test_timeout_on_one_file_is_a_notification_not_a_failure(cli, root):
    proc, doc = scan(cli, root, "file-timeout")
    assert proc.returncode == 1
    inv = doc["runs"][0]["invocations"][0]
    assert inv["executionSuccessful"] is True
    notes = inv["toolExecutionNotifications"]
    assert notes[0]["level"] == "warning" and "Timeout" in notes[0]["message"]["text"]
    assert notes[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "a.py"
    assert [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in doc["runs"][0]["results"]] == ["b.py"]


def test_parse_error_is_a_notification_with_its_line(cli, root):
    proc, doc = scan(cli, root, "parse-error")
    assert proc.returncode == 1
    note = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"][0]
    assert note["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
