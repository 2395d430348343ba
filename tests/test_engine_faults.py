"""Engine faults, simulated with a fake semgrep: the runner says what happened, keeps
what the engine produced, writes a valid SARIF whose invocation tells the truth, exits 3."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parent.parent
FAKE = ROOT / "tests" / "fake" / "semgrep.py"
BIN = Path(sys.executable).parent
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


def scan_all_formats(cli, root, mode):
    """One scan with every format written: (process, {format: text})."""
    outs = {fmt: root / f"out.{fmt}" for fmt in ("sarif", "json", "text", "markdown")}
    proc = cli("scan", "a.py", "b.py", "--area", "resilience", "--format", "sarif", "-o", outs["sarif"],
               *[a for fmt in ("json", "text", "markdown") for a in ("--also", f"{fmt}={outs[fmt]}")],
               cwd=root, env={"BACKEND_REVIEW_SEMGREP": str(FAKE), "FAKE_SEMGREP_MODE": mode})
    return proc, {fmt: p.read_text() for fmt, p in outs.items() if p.exists()}


@pytest.mark.parametrize("mode,expect", [
    ("exit1", "semgrep exited with code 1 without printing a result document (no output at all)"),
    ("exit0-silent", "semgrep exited with code 0 without printing a result document (no output at all)"),
    ("traceback-exit1", "semgrep exited with code 1 without printing a result document: "
                        "ModuleNotFoundError: No module named 'semgrep'"),
    ("not-a-document", "not a result document"),
    ("crash", "semgrep exited with code 2"),
])
def test_no_result_document_is_never_a_pass(cli, root, mode, expect):
    """An engine that prints no result document failed, whatever its exit code: every
    output says so, and none of them reads as a clean pass."""
    proc, out = scan_all_formats(cli, root, mode)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.startswith("backend-review: error: the engine failed: ")
    assert expect in proc.stderr and proc.stderr.count("\n") == 1
    sarif = json.loads(out["sarif"])
    assert list(jsonschema.Draft7Validator(SCHEMA).iter_errors(sarif)) == []
    inv = sarif["runs"][0]["invocations"][0]
    assert inv["executionSuccessful"] is False
    assert [n["level"] for n in inv["toolExecutionNotifications"] if expect in n["message"]["text"]] == ["error"]
    doc = json.loads(out["json"])
    assert doc["scan"]["successful"] is False and expect in doc["scan"]["failure"]
    last = out["text"].rstrip("\n").splitlines()[-1]
    assert last == "FAIL: the scan did not complete; findings may be missing"
    assert "PASS" not in out["text"]
    assert "**Incomplete scan**: the engine failed" in out["markdown"]
    assert "**Clean**" not in out["markdown"]


def test_failed_scan_text_never_passes_even_with_fail_on_never(cli, root):
    proc = cli("scan", "a.py", "--area", "resilience", "--fail-on", "never", cwd=root,
               env={"BACKEND_REVIEW_SEMGREP": str(FAKE), "FAKE_SEMGREP_MODE": "exit1"})
    assert proc.returncode == 3
    assert proc.stdout.rstrip("\n").splitlines()[-1].startswith("FAIL: the scan did not complete")


@pytest.mark.parametrize("sig,code,line", [(signal.SIGINT, 130, "backend-review: interrupted"),
                                           (signal.SIGTERM, 143, "backend-review: terminated")])
def test_signal_stops_the_engine_and_leaves_nothing_behind(root, tmp_path_factory, sig, code, line):
    tmpdir = tmp_path_factory.mktemp("tmpdir")
    pidfile = tmp_path_factory.mktemp("pid") / "engine.pid"
    env = dict(os.environ, BACKEND_REVIEW_SEMGREP=str(FAKE), FAKE_SEMGREP_MODE="hang",
               FAKE_SEMGREP_PIDFILE=str(pidfile), TMPDIR=str(tmpdir))
    proc = subprocess.Popen([str(BIN / "backend-review"), "scan", "a.py", "b.py", "--area", "resilience",
                             "--format", "sarif", "-o", "out.sarif", "--also", "text=out.txt"],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not pidfile.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the engine never started"
            time.sleep(0.1)
        engine_pid = int(pidfile.read_text())
        assert [p.name for p in tmpdir.glob("backend-review-*")], "the run should hold a temporary folder"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code
    assert err == line + "\n"
    assert list(tmpdir.glob("backend-review-*")) == []
    assert not (root / "out.sarif").exists() and not (root / "out.txt").exists()
    assert [p.name for p in root.iterdir() if p.name.startswith(".out.")] == []  # no half-written output
    for _ in range(50):  # the engine process is gone (reaped by the runner or, orphaned, by init)
        try:
            os.kill(engine_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the engine (pid {engine_pid}) outlived the runner")
