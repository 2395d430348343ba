"""Bad input that must not crash, hang, leak or corrupt: each case names what happened."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parent.parent
SARIF_SCHEMA = json.loads((ROOT / "schemas" / "sarif-schema-2.1.0.json").read_text())
REPORT_SCHEMA = json.loads((ROOT / "schemas" / "report.schema.json").read_text())
BUG = "import requests\nrequests.get('https://x.test')\n"


def valid_sarif(doc):
    v = jsonschema.Draft7Validator(SARIF_SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errs = list(v.iter_errors(doc))
    assert not errs, errs[0].message


def scan_json(cli, root, *paths, extra=()):
    proc = cli("scan", *(paths or (".",)), "--area", "resilience", "--format", "json", "--fail-on", "never", *extra,
               cwd=root)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    jsonschema.validate(doc, REPORT_SCHEMA)
    return doc


def where(doc):
    return sorted((f["evidence"]["path"], f["evidence"]["start_line"]) for f in doc["findings"])


def notes(doc):
    return {(n["path"], n["kind"]) for n in doc["notifications"]}


def test_binary_file_with_py_name_is_skipped(cli, write_tree):
    root = write_tree({"ok.py": BUG, "blob.py": b"\x7fELF\x00\x00\x01binary"})
    doc = scan_json(cli, root)
    assert where(doc) == [("ok.py", 2)]
    assert ("blob.py", "skipped") in notes(doc)


def test_invalid_utf8_and_mixed_line_endings(cli, write_tree):
    root = write_tree({"bad.py": b"import requests\nx = '\xff\xfe'\nrequests.get('a')\n",
                       "mixed.py": b"import requests\r\nrequests.get('a')\nx = 1\r\n\r\nrequests.post('b')\r\n"})
    doc = scan_json(cli, root)
    assert where(doc) == [("bad.py", 3), ("mixed.py", 2), ("mixed.py", 5)]
    codes = {(f["evidence"]["path"], f["evidence"]["code"]) for f in doc["findings"]}
    assert ("mixed.py", "requests.post('b')") in codes  # no stray \r in evidence


def test_large_generated_file_is_skipped_with_a_note(cli, write_tree):
    big = "import requests\n" + "x = 1\n" * (20 * 1024 * 1024 // 6)
    root = write_tree({"big.py": big, "small.py": BUG})
    doc = scan_json(cli, root)
    assert where(doc) == [("small.py", 2)]
    assert ("big.py", "skipped") in notes(doc)
    assert any("larger than" in n["message"] for n in doc["notifications"])


def test_syntax_error_is_reported_and_scan_continues(cli, write_tree):
    root = write_tree({"broken.py": "import requests\nx = (1,\ndef f():\n    requests.get('a')\n", "fine.py": BUG})
    doc = scan_json(cli, root)
    assert ("fine.py", 2) in where(doc)
    syntax = [n for n in doc["notifications"] if n["kind"] == "syntax"]
    assert [(n["path"], n["line"]) for n in syntax] == [("broken.py", 2)]
    assert "findings in this file may be incomplete" in syntax[0]["message"]


NEWER_PYTHON = {
    # PEP 701 (3.12): the same quotes nested inside an f-string; a SyntaxError in 3.11
    "fstring.py": 'import requests\nd = {"k": 1}\nmsg = f"{d["k"]} and {"x"}"\nrequests.get("a")\n',
    # PEP 695 (3.12): type aliases and type parameters
    "pep695.py": "import requests\ntype X = int\ndef first[T](xs: list[T]) -> T:\n    return requests.get('a')\n",
}


def test_code_valid_in_newer_python_is_not_a_syntax_error(cli, write_tree):
    """The runner's own Python (3.11) cannot parse these; the engine can, and its word counts."""
    root = write_tree(NEWER_PYTHON)
    doc = scan_json(cli, root)
    assert where(doc) == [("fstring.py", 4), ("pep695.py", 4)]
    assert [n for n in doc["notifications"] if n["kind"] == "syntax"] == []


def test_symlink_loop_does_not_hang(cli, write_tree):
    root = write_tree({"src/app.py": BUG})
    os.symlink("loop_b", root / "src" / "loop_a")
    os.symlink("loop_a", root / "src" / "loop_b")
    os.symlink("..", root / "src" / "parent")  # a folder link back up
    doc = scan_json(cli, root, "src")
    assert where(doc) == [("src/app.py", 2)]


NAMES = ["my file.py", "hash#1.py", "pct%41.py", "ünïcödé.py", "new\nline.py", "esc\x1b[31mred.py", "bell\x07.py"]


def test_strange_file_names_everywhere(cli, write_tree, tmp_path):
    root = write_tree({name: BUG for name in NAMES})
    out = tmp_path / "o.sarif"
    proc = cli("scan", ".", "--area", "resilience", "--format", "sarif", "-o", out, "--fail-on", "never", cwd=root)
    assert proc.returncode == 0, proc.stderr
    sarif = json.loads(out.read_text())
    valid_sarif(sarif)
    uris = sorted(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"])
    assert len(uris) == len(NAMES)
    assert "my%20file.py" in uris and "hash%231.py" in uris and "pct%2541.py" in uris and "new%0Aline.py" in uris
    assert all(not u.startswith("/") and str(root) not in u for u in uris)
    doc = scan_json(cli, root)
    assert {f["evidence"]["path"] for f in doc["findings"]} == set(NAMES)
    text = cli("scan", ".", "--area", "resilience", "--fail-on", "never", cwd=root, env={"NO_COLOR": "1"}).stdout
    assert "\x1b" not in text and "\x07" not in text
    assert "esc\\x1b[31mred.py" in text
    md = cli("scan", ".", "--area", "resilience", "--format", "markdown", "--fail-on", "never", cwd=root).stdout
    assert "\x1b" not in md and "- `hash#1.py:2`" in md and "- `new\\x0aline.py:2`" in md


def test_output_is_deterministic_apart_from_times(cli, write_tree, tmp_path):
    root = write_tree({"a.py": BUG, "pkg/b.py": BUG + BUG, "pkg/c.py": "x = 1\n"})
    outputs = []
    for i in range(2):
        for fmt in ("sarif", "json"):
            out = tmp_path / f"{i}.{fmt}"
            cli("scan", ".", "--area", "resilience", "--format", fmt, "-o", out, "--fail-on", "never", cwd=root)
            text = re.sub(r'"(startTimeUtc|endTimeUtc|started|ended)": "[^"]*"', r'"\1": "T"', out.read_text())
            outputs.append(text)
    assert outputs[0] == outputs[2] and outputs[1] == outputs[3]


def test_fingerprint_survives_insert_above_and_changes_with_code(cli, write_tree):
    root = write_tree({"a.py": "import requests\n\ndef f():\n    return requests.get('https://x.test')\n"})
    first = scan_json(cli, root)["findings"][0]
    (root / "a.py").write_text("import os\nimport sys\n\n\nimport requests\n\ndef f():\n    return requests.get('https://x.test')\n")
    moved = scan_json(cli, root)["findings"][0]
    assert moved["evidence"]["start_line"] == first["evidence"]["start_line"] + 4
    assert moved["fingerprint"] == first["fingerprint"]
    (root / "a.py").write_text("import requests\n\ndef f():\n    return requests.get('https://y.test')\n")
    changed = scan_json(cli, root)["findings"][0]
    assert changed["fingerprint"] != first["fingerprint"]


def test_output_into_read_only_directory(write_tree):
    """As root any directory is writable, so the command runs as root without capabilities (setpriv):
    file permissions then apply, and the root-owned checkout stays reachable wherever CI clones it."""
    root = Path(tempfile.mkdtemp(prefix="br-readonly-"))
    try:
        root.chmod(0o755)
        (root / "a.py").write_text(BUG)
        (root / "a.py").chmod(0o644)
        (root / "ro").mkdir(mode=0o555)
        exe = Path(sys.executable).parent / "backend-review"
        cmd = [str(exe), "scan", "a.py", "-o", "ro/out.sarif"]
        if os.geteuid() == 0:
            if not shutil.which("setpriv"):
                pytest.skip("setpriv is needed to drop root's capabilities")
            cmd = ["setpriv", "--bounding-set=-all", "--inh-caps=-all", *cmd]
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "HOME": str(root)})
        assert proc.returncode == 2
        assert proc.stderr.strip() == "backend-review: error: output directory is not writable: ro"
        assert list((root / "ro").iterdir()) == []
    finally:
        (root / "ro").chmod(0o755)
        shutil.rmtree(root, ignore_errors=True)
