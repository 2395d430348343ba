"""The shared source model (rules/_sources): expansion by the loader, errors, and that the
expanded pack `make test-rules` tests is exactly what a scan hands to Semgrep."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from backend_review import rules as rules_mod, scan as scan_mod

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "rules" / "_sources" / "python.yaml"
SHELL_RULE = ROOT / "rules" / "validation" / "python" / "shell-command-from-request.yaml"


def _models() -> dict:
    return yaml.safe_load(SOURCES.read_text())["models"]


def test_reference_is_expanded_into_the_models_sources():
    authored = yaml.safe_load(SHELL_RULE.read_text())["rules"][0]["pattern-sources"]
    assert authored == [{"source-model": "web"}]
    rule = rules_mod.load_rule_file(SHELL_RULE)
    expanded = rule.raw["pattern-sources"]
    models = _models()
    want = [src for name in models["web"]["include"] for src in models[name]["pattern-sources"]]
    assert expanded == want
    assert not any("source-model" in s for s in expanded)
    assert "flask.request.$ATTR" in json.dumps(expanded)
    # the engine rule carries the expansion, not the reference
    assert rules_mod.engine_rule(rule)["pattern-sources"] == want


def test_web_group_covers_every_framework_model():
    models = _models()
    frameworks = {n for n, m in models.items() if "pattern-sources" in m}
    assert set(models["web"]["include"]) == frameworks
    assert {"flask", "django", "drf", "starlette", "fastapi", "aiohttp", "graphql", "connexion"} <= frameworks
    assert all(m.get("describe") for m in models.values())


def test_sources_folder_is_not_a_rule():
    pack = rules_mod.load_pack()
    assert all(rules_mod.SOURCES_DIR not in r.path.parts for r in pack)
    assert "validation.python.shell-command-from-request" in {r.id for r in pack}


def _tree_with(tmp_path: Path, reference) -> Path:
    root = tmp_path / "rules"
    (root / "_sources").mkdir(parents=True)
    shutil.copy(SOURCES, root / "_sources" / "python.yaml")
    raw = yaml.safe_load(SHELL_RULE.read_text())
    raw["rules"][0]["pattern-sources"] = [{"source-model": reference}]
    target = root / "validation" / "python" / SHELL_RULE.name
    target.parent.mkdir(parents=True)
    target.write_text(yaml.safe_dump(raw, sort_keys=False))
    return root


def test_unknown_model_is_an_error_naming_file_and_rule(tmp_path):
    root = _tree_with(tmp_path, ["flask", "flsk"])
    with pytest.raises(rules_mod.RuleError) as exc:
        rules_mod.load_pack(root)
    msg = str(exc.value)
    assert "shell-command-from-request.yaml" in msg and "validation.python.shell-command-from-request" in msg
    assert "unknown source model 'flsk'" in msg and "\n" not in msg
    # the module entry: one line, exit 2, nothing written
    out = tmp_path / "build"
    proc = subprocess.run([sys.executable, "-m", "backend_review.rules", "--expand", str(out), "--rules", str(root)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("backend-review: error: ") and proc.stderr.count("\n") == 1
    assert "unknown source model 'flsk'" in proc.stderr
    assert not out.exists()


def test_list_of_models_expands_in_order(tmp_path):
    root = _tree_with(tmp_path, ["django", "flask"])
    rule = rules_mod.load_pack(root)[0]
    models = _models()
    assert rule.raw["pattern-sources"] == models["django"]["pattern-sources"] + models["flask"]["pattern-sources"]


def test_expanded_pack_is_what_a_scan_gives_semgrep(tmp_path):
    out = tmp_path / "build" / "rules"
    proc = subprocess.run([sys.executable, "-m", "backend_review.rules", "--expand", str(out)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    pack = rules_mod.load_pack()
    written = sorted(p for p in out.rglob("*.yaml"))
    # mirrors rules/: one file per rule at the same relative path
    assert [p.relative_to(out) for p in written] == sorted(r.path.relative_to(ROOT / "rules") for r in pack)
    from_files = [yaml.safe_load(p.read_text())["rules"][0] for p in written]
    engine = [r for r in scan_mod.engine_config_for(pack)["rules"] if not r["id"].startswith("fact.")]
    assert sorted(from_files, key=lambda r: r["id"]) == sorted(engine, key=lambda r: r["id"])
    assert not any("source-model" in json.dumps(r) for r in from_files)


APP = '''\
import asyncio
import subprocess

from aiohttp import web
from flask import Flask, request

app = Flask(__name__)


@app.get("/ping")
def ping():
    host = request.args["host"]
    out = subprocess.check_output(f"ping -c 1 {host}", shell=True, timeout=10)
    return {"out": out.decode()}


@app.get("/ping-safe")
def ping_safe():
    host = request.args["host"]
    out = subprocess.check_output(["ping", "-c", "1", host], timeout=10)
    return {"out": out.decode()}


async def dig(request):
    data = await request.post()
    proc = await asyncio.create_subprocess_shell("dig " + data["name"])
    return web.json_response({"ok": True})


def nightly():
    subprocess.run("pg_dump app > /backups/nightly.sql", shell=True, check=True)
'''


def test_scan_reports_taint_from_shared_sources(cli, write_tree):
    root = write_tree({"svc/views.py": APP})
    proc = cli("scan", ".", "--rule", "validation.python.shell-command-from-request", "--format", "json",
               "--fail-on", "never", "--no-cache", cwd=root)
    assert proc.returncode == 0, proc.stderr
    found = sorted((f["rule"], f["evidence"]["path"], f["evidence"]["start_line"], f["severity"])
                   for f in json.loads(proc.stdout)["findings"])
    # the Flask handler (flask model) and the aiohttp handler (aiohttp model); not the safe
    # twin (argument list) nor the constant command of the job
    assert found == [("validation.python.shell-command-from-request", "svc/views.py", 13, "critical"),
                     ("validation.python.shell-command-from-request", "svc/views.py", 26, "critical")]


# Taint rules that still list their own request sources, and why.
OWN_SOURCES = {
    # only whole request bodies (form/json/POST/data) can be mass-assigned: deliberately narrower
    "validation.python.mass-assignment-from-request",
    # caching area, not migrated yet (docs/writing-rules.md)
    "caching.python.cache-key-from-request-input",
    # its sources are Django-only by design (a view that calls authenticate())
    "ratelimit.python.django-view-authenticate-without-ratelimit",
    # any attribute of the request compared to a secret (auth area, not migrated yet)
    "auth.python.secret-compared-with-equality",
}


def test_injection_rules_take_their_sources_from_the_model():
    """Sources defined once: a taint rule from request data names the model, it does not copy it."""
    copied = []
    for path in sorted((ROOT / "rules").rglob("*.yaml")):
        if rules_mod.SOURCES_DIR in path.parts:
            continue
        raw = yaml.safe_load(path.read_text())["rules"][0]
        if raw.get("mode") != "taint" or raw["id"] in OWN_SOURCES:
            continue
        authored = json.dumps(raw.get("pattern-sources", []))
        if "request" in authored and "source-model" not in authored:
            copied.append(raw["id"])
        if "source-model" in authored and ("flask.request" in authored or "request.$ATTR" in authored):
            copied.append(raw["id"])
    assert copied == []


DECODERS = ("unquote", "b64decode", "urlsafe_b64decode", "json.loads", ".decode(", "decompress")


def test_no_model_rule_sanitizes_a_decoder():
    """Decoding keeps taint: a rule on the shared model never lists a decoder as a sanitizer."""
    offenders = []
    for rule in rules_mod.load_pack():
        authored = yaml.safe_load(rule.path.read_text())["rules"][0]
        if "source-model" not in json.dumps(authored.get("pattern-sources", [])):
            continue
        sanitizers = json.dumps(authored.get("pattern-sanitizers", []))
        offenders += [(rule.id, d) for d in DECODERS if d in sanitizers]
    assert offenders == []


def test_decoded_request_data_stays_tainted(tmp_path):
    """base64, URL-unquoting, json.loads and .decode() between request and sink: still found."""
    out = tmp_path / "rules"
    rules_mod.write_expanded([rules_mod.load_rule_file(SHELL_RULE)], ROOT / "rules", out)
    src = tmp_path / "app.py"
    src.write_text(
        "import base64, json, os\n"
        "from urllib.parse import unquote_plus\n"
        "from flask import request\n"
        "def run():\n"
        "    blob = json.loads(base64.b64decode(request.form['b']).decode())\n"
        "    os.system(unquote_plus(blob['cmd']))\n")
    proc = subprocess.run([str(Path(sys.executable).parent / "semgrep"), "scan", "--metrics=off",
                           "--disable-version-check", "--json", "--quiet", "--config", str(out), str(src)],
                          capture_output=True, text=True)
    lines = [(r["check_id"].rsplit(".", 1)[-1], r["start"]["line"]) for r in json.loads(proc.stdout)["results"]]
    assert lines == [("shell-command-from-request", 6)]
