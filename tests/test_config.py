"""Configuration never silently disappears: discovery, syntax errors with file:line, and
one validation that `scan` and `doctor` share. Every test runs the real command."""
from __future__ import annotations

import json

import pytest

BUG = "import requests\n\ndef fetch(url):\n    return requests.get(url)\n"  # resilience.python.requests-without-timeout, line 4
RULE = "resilience.python.requests-without-timeout"


def error_line(proc) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("backend-review: error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def doctor_rows(proc, status: str) -> list[str]:
    return [ln for ln in proc.stdout.splitlines() if f"  {status}  " in ln or f"  {status} " in ln]


def findings(proc) -> list[tuple]:
    return sorted((f["rule"], f["evidence"]["path"], f["evidence"]["start_line"], f["severity"])
                  for f in json.loads(proc.stdout)["findings"])


@pytest.mark.parametrize("command", [["scan", "--no-cache"], ["doctor"]])
def test_broken_pyproject_is_exit_2_with_file_and_line(cli, write_tree, command):
    root = write_tree({"app/a.py": BUG,
                       "pyproject.toml": '[project]\nname = "x"\n\n[tool.backend-review\nfail-on = "low"\n'})
    proc = cli(*command, "app", cwd=root)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    text = error_line(proc) if command[0] == "scan" else doctor_rows(proc, "INVALID")[0]
    assert f"{root / 'pyproject.toml'}:4: invalid TOML:" in text and "column" in text


def test_broken_pyproject_above_the_config_is_not_read(cli, write_tree):
    """Discovery stops at the first config found: a broken file further up is never opened."""
    root = write_tree({"svc/app/a.py": BUG, "svc/.backend-review.yml": "fail-on: never\n",
                       "pyproject.toml": "this is = = not toml\n"})
    proc = cli("scan", "svc/app", "--no-cache", cwd=root)
    assert proc.returncode == 0, proc.stderr


def test_broken_pyproject_below_a_config_is_an_error(cli, write_tree):
    """A pyproject.toml that does not parse on the walk may hold our table: never skipped."""
    root = write_tree({"svc/a.py": BUG, "svc/pyproject.toml": "[tool.backend-review]\nfail-on = \n",
                       ".backend-review.yml": "fail-on: never\n"})
    proc = cli("scan", "svc", "--no-cache", cwd=root)
    assert proc.returncode == 2 and f"{root / 'svc' / 'pyproject.toml'}:2: invalid TOML" in error_line(proc)


def test_pyproject_without_our_table_is_passed_over(cli, write_tree):
    root = write_tree({"svc/a.py": BUG, "svc/pyproject.toml": '[project]\nname = "svc"\n',
                       ".backend-review.yml": "fail-on: never\n"})
    proc = cli("scan", "svc", "--no-cache", cwd=root)
    assert proc.returncode == 0, proc.stderr  # the parent's fail-on: never applied


def test_explicit_pyproject_without_our_table_is_an_error(cli, write_tree):
    root = write_tree({"a.py": BUG, "pyproject.toml": '[project]\nname = "svc"\n'})
    proc = cli("scan", "a.py", "--config", "pyproject.toml", cwd=root)
    assert proc.returncode == 2 and "pyproject.toml: no [tool.backend-review] table" in error_line(proc)


@pytest.mark.parametrize("command", [["scan", "--no-cache"], ["doctor"]])
def test_yaml_syntax_error_names_file_and_line(cli, write_tree, command):
    root = write_tree({"a.py": BUG, ".backend-review.yml": "fail-on: high\nareas: [resilience\nignore: []\n"})
    proc = cli(*command, "a.py", cwd=root)
    assert proc.returncode == 2
    text = error_line(proc) if command[0] == "scan" else doctor_rows(proc, "INVALID")[0]
    assert f"{root / '.backend-review.yml'}:" in text and "invalid YAML" in text


def test_two_configs_side_by_side_dedicated_file_wins_with_a_note(cli, write_tree):
    root = write_tree({"a.py": BUG, ".backend-review.yml": "fail-on: never\n",
                       "pyproject.toml": '[tool.backend-review]\nfail-on = "low"\n'})
    proc = cli("scan", "a.py", "--no-cache", cwd=root)
    assert proc.returncode == 0, proc.stderr  # fail-on: never from the YAML file
    notes = [ln for ln in proc.stderr.splitlines() if ln.startswith("backend-review: note: using config")]
    assert notes == [f"backend-review: note: using config {root / '.backend-review.yml'}; "
                     f"ignoring {root / 'pyproject.toml'} beside it"]
    doctor = cli("doctor", "a.py", cwd=root)
    assert doctor.returncode == 0 and f"ignoring {root / 'pyproject.toml'}" in doctor.stdout


def test_yml_and_yaml_side_by_side(cli, write_tree):
    root = write_tree({"a.py": BUG, ".backend-review.yml": "fail-on: never\n", ".backend-review.yaml": "fail-on: low\n"})
    proc = cli("scan", "a.py", "--no-cache", cwd=root)
    assert proc.returncode == 0 and f"ignoring {root / '.backend-review.yaml'}" in proc.stderr


# --- one validation for scan and doctor -------------------------------------------------

BAD_CONFIG = """\
select: ["resilience.python.no-such-rule"]
ignore: ["nothing.*"]
severity:
  "caching.python.*": low
  "frontend.*": high
"""


def test_doctor_lists_every_problem_scan_stops_on(cli, write_tree):
    root = write_tree({"a.py": BUG, ".backend-review.yml": BAD_CONFIG})
    cfg = root / ".backend-review.yml"
    doctor = cli("doctor", "a.py", "missing.py", cwd=root)
    assert doctor.returncode == 2
    details = [row.split("INVALID", 1)[1].strip() for row in doctor_rows(doctor, "INVALID")]
    assert details == [
        f"{cfg}: select: unknown rule id 'resilience.python.no-such-rule' (see `backend-review rules list`)",
        f"{cfg}: ignore: 'nothing.*' matches no rule id (see `backend-review rules list`)",
        f"{cfg}: severity: 'frontend.*' matches no rule id (see `backend-review rules list`)",
        "path does not exist: missing.py",
    ]
    scan = cli("scan", "a.py", "missing.py", cwd=root)
    assert scan.returncode == 2
    assert error_line(scan) == f"backend-review: error: {details[0]} (and 3 more problems)"


def test_pyproject_keys_are_named_with_their_table(cli, write_tree):
    root = write_tree({"a.py": BUG, "pyproject.toml": '[tool.backend-review.severity]\n"nope.*" = "low"\n'})
    proc = cli("scan", "a.py", cwd=root)
    assert proc.returncode == 2
    assert f"{root / 'pyproject.toml'}: tool.backend-review.severity: 'nope.*' matches no rule id" in error_line(proc)


def test_doctor_clean_config_shows_targets(cli, write_tree):
    root = write_tree({"app/a.py": BUG, "app/b.py": "x = 1\n", "tests/t.py": BUG,
                       ".backend-review.yml": "areas: [resilience]\n"})
    proc = cli("doctor", cwd=root)
    assert proc.returncode == 0, proc.stdout
    assert any(ln.startswith("targets") and "2 files" in ln for ln in proc.stdout.splitlines()), proc.stdout


def test_doctor_invalid_contract_and_duplicate_names(cli, write_tree):
    root = write_tree({"a.py": BUG, ".backend-review.yml":
                       "boundaries:\n"
                       "  - {name: api, from: ['*'], forbid-calls: ['db.session(']}\n"
                       "  - {name: api, from: ['*'], forbid-imports: ['app.db']}\n"})
    proc = cli("doctor", "a.py", cwd=root)
    assert proc.returncode == 2
    details = " | ".join(doctor_rows(proc, "INVALID"))
    assert "boundaries: api: forbid-calls entry 'db.session(' is not a dotted name" in details
    assert "contract name 'api' is used twice" in details


# --- severity overrides and contracts ---------------------------------------------------

LAYERED = {
    "app/api/orders.py": "from app.models import Order\n\ndef f():\n    return Order\n",
    "app/api/client.py": BUG,
}


def test_contract_severity_not_overridden_by_a_glob(cli, write_tree):
    root = write_tree({**LAYERED, ".backend-review.yml":
                       "areas: [boundaries, resilience]\n"
                       "severity:\n  'boundaries.python.*': low\n  'resilience.*': medium\n"
                       "boundaries:\n"
                       "  - {name: own, from: ['app/api/*'], forbid-imports: ['app.models*'], severity: critical}\n"
                       "  - {name: plain, from: ['app/api/*'], forbid-imports: ['app.mod*']}\n"})
    proc = cli("scan", "app", "--format", "json", "--no-cache", "--fail-on", "never", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert findings(proc) == [
        ("boundaries.python.contract-own", "app/api/orders.py", 1, "critical"),  # its own severity
        ("boundaries.python.contract-plain", "app/api/orders.py", 1, "low"),  # no own severity: the glob
        (RULE, "app/api/client.py", 4, "medium"),
    ]


def test_exact_id_beats_glob_and_contract_severity(cli, write_tree):
    root = write_tree({**LAYERED, ".backend-review.yml":
                       "areas: [boundaries, resilience]\n"
                       f"severity:\n  '{RULE}': low\n  'resilience.*': critical\n"
                       "  'boundaries.python.contract-own': medium\n"
                       "boundaries:\n"
                       "  - {name: own, from: ['app/api/*'], forbid-imports: ['app.models*'], severity: critical}\n"})
    proc = cli("scan", "app", "--format", "json", "--no-cache", "--fail-on", "never", cwd=root)
    assert findings(proc) == [("boundaries.python.contract-own", "app/api/orders.py", 1, "medium"),
                              (RULE, "app/api/client.py", 4, "low")]
