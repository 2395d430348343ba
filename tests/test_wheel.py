"""The built wheel carries the rules and schemas: installed into a fresh venv, the
command finds them from any working directory."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(work / "dist"), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    wheel = next((work / "dist").glob("backend_review-*.whl"))
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    subprocess.run([str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
                   check=True, capture_output=True, timeout=900)
    return env_dir, wheel


def test_wheel_contains_rules_and_schemas(installed):
    import zipfile
    _, wheel = installed
    names = zipfile.ZipFile(wheel).namelist()
    assert "backend_review/_data/schemas/rule-metadata.schema.json" in names
    assert "backend_review/_data/schemas/sarif-schema-2.1.0.json" in names
    rules = [n for n in names if n.startswith("backend_review/_data/rules/") and n.endswith(".yaml")]
    assert len(rules) == len(list((ROOT / "rules").rglob("*.yaml")))


def test_installed_command_scans_from_tmp(installed, tmp_path):
    env_dir, _ = installed
    target = tmp_path / "svc"
    shutil.copytree(ROOT / "fixtures" / "apps" / "orders-service", target)
    proc = subprocess.run([str(env_dir / "bin" / "backend-review"), "scan", "svc", "--format", "sarif",
                           "-o", "out.sarif", "--fail-on", "never"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "out.sarif").read_text())
    assert doc["runs"][0]["results"]
    listing = subprocess.run([str(env_dir / "bin" / "backend-review"), "rules", "list"], cwd="/",
                             capture_output=True, text=True, timeout=120)
    assert listing.returncode == 0 and "resilience.python.requests-without-timeout" in listing.stdout
