"""`requires-text`: a whole-file condition the loader adds to a rule (metadata) or to every
sink of a taint rule (from its source models), so Semgrep can skip files whose text rules
the match out. It must change which files are scanned, never what a scanned file yields."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from backend_review import engine, rules as rules_mod

ROOT = Path(__file__).resolve().parent.parent

CRED_RULE = {
    "id": "auth.python.demo-credential", "languages": ["python"], "severity": "ERROR",
    "message": "A database password is written in the source of the settings module.", "patterns": [
        {"pattern": '$NAME = "$VALUE"'},
        {"metavariable-regex": {"metavariable": "$NAME", "regex": "^[A-Z_]*PASSWORD$"}}],
}


def _rule_tree(tmp_path: Path, rule: dict, needs: str | None) -> Path:
    root = tmp_path / "rules"
    folder = root / "auth" / "python"
    folder.mkdir(parents=True)
    meta = yaml.safe_load((ROOT / "rules/auth/python/hardcoded-credential.yaml").read_text())["rules"][0]["metadata"]
    meta.pop("requires-text", None)
    if needs:
        meta["requires-text"] = needs
    (folder / "demo-credential.yaml").write_text(yaml.safe_dump({"rules": [{**rule, "metadata": meta}]}))
    return root


def _semgrep(config: dict, target: Path, work: Path) -> set[tuple[str, int, int]]:
    cfg = work / "config.json"
    engine.write_config(cfg, config)
    proc = subprocess.run([str(Path(sys.executable).parent / "semgrep"), "scan", *engine.FIXED_FLAGS,
                           "--config", str(cfg), str(target)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return {(Path(r["path"]).name, r["start"]["line"], r["end"]["col"]) for r in json.loads(proc.stdout)["results"]}


def test_a_rule_with_requires_text_skips_files_without_it_and_keeps_its_matches(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "settings.py").write_text('import os\n\nDB_PASSWORD = "hunter2hunter2"\n')
    # matches the pattern but lacks the text the rule says every match needs: proves the
    # condition is really applied (no real match could look like this)
    (src / "odd.py").write_text('DB_PASSWORD = "hunter2hunter2"\n')
    plain = rules_mod.load_pack(_rule_tree(tmp_path / "a", CRED_RULE, None))
    needing = rules_mod.load_pack(_rule_tree(tmp_path / "b", CRED_RULE, r"\bimport os\b"))
    without = _semgrep(rules_mod.merged_config(plain), src, tmp_path)
    with_text = _semgrep(rules_mod.merged_config(needing), src, tmp_path)
    assert without == {("settings.py", 3, 31), ("odd.py", 1, 31)}
    assert with_text == {("settings.py", 3, 31)}  # same range as without the condition


def test_requires_text_must_be_a_regex(tmp_path):
    with pytest.raises(rules_mod.RuleError, match="requires-text is not a valid regex"):
        rules_mod.load_pack(_rule_tree(tmp_path, CRED_RULE, "(unclosed"))


def test_taint_sinks_get_the_text_their_source_models_need():
    pack = {r.id: r for r in rules_mod.load_pack()}
    shell = rules_mod.engine_rule(pack["validation.python.shell-command-from-request"])
    texts = rules_mod.source_model_texts(ROOT / "rules/_sources/python.yaml")
    models = yaml.safe_load((ROOT / "rules/_sources/python.yaml").read_text())["models"]
    # the web group's text is the union of its members'
    assert texts["web"] == "|".join(dict.fromkeys(models[m]["requires-text"] for m in models["web"]["include"]))
    for sink in shell["pattern-sinks"]:
        assert sink["patterns"][0] == {"pattern-regex": rf"(?s)\A(?=.*?(?:{texts['web']})).*\z"}
    # a rule with a source of its own keeps its sinks as written: that source may need no text
    mass = rules_mod.engine_rule(pack["validation.python.mass-assignment-from-request"])
    assert "\\brequest\\b" not in json.dumps(mass["pattern-sinks"])
    assert "x-sources-text" not in json.dumps(shell)


def test_every_source_model_text_is_in_the_files_of_its_fixtures():
    """Each model's `requires-text` must hold wherever its sources match; the injection rules'
    fixtures exercise every framework, so a file with a finding lacking the text would show
    the model's text is too narrow (the rule's fixture test would then miss lines too)."""
    texts = rules_mod.source_model_texts(ROOT / "rules/_sources/python.yaml")
    import re
    web = re.compile(texts["web"])
    for fixture in (ROOT / "fixtures").glob("*/python/*.py"):
        text = fixture.read_text()
        if "# ruleid: validation." in text and "from-request" in fixture.name:
            assert web.search(text), fixture
