"""Every rule passes our metadata schema and Semgrep's own rule schema, and has fixtures."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

import semgrep
from backend_review import rules as rules_mod
from backend_review.finding import Severity

ROOT = Path(__file__).resolve().parent.parent
RULE_FILES = sorted(p for p in (ROOT / "rules").rglob("*.yaml")
                    if rules_mod.SOURCES_DIR not in p.relative_to(ROOT / "rules").parts)
SEMGREP_SCHEMA = Path(semgrep.__file__).parent / "semgrep_interfaces" / "rule_schema_v1.yaml"


def _id(p: Path) -> str:
    return str(p.relative_to(ROOT / "rules"))


@pytest.fixture(scope="module")
def semgrep_validator():
    schema = yaml.safe_load(SEMGREP_SCHEMA.read_text())
    return jsonschema.Draft7Validator(schema)


def test_pack_is_not_empty():
    assert len(RULE_FILES) >= 10


@pytest.mark.parametrize("path", RULE_FILES, ids=_id)
def test_rule_matches_metadata_schema(path):
    rule = rules_mod.load_rule_file(path)  # raises RuleError naming the problem
    assert rule.severity.semgrep == rule.raw["severity"]
    if rule.is_security:
        low, high = rule.severity.security_band
        assert low <= float(rule.security_severity) <= high


@pytest.mark.parametrize("path", RULE_FILES, ids=_id)
def test_rule_matches_semgrep_schema(path, semgrep_validator):
    # as the engine sees it: `source-model` references expanded by the loader
    doc = {"rules": [rules_mod.engine_rule(rules_mod.load_rule_file(path))]}
    errors = [e.message for e in semgrep_validator.iter_errors(doc)]
    assert errors == []


@pytest.mark.parametrize("path", RULE_FILES, ids=_id)
def test_rule_has_fixture_both_ways(path):
    rel = path.relative_to(ROOT / "rules").with_suffix("")
    fixtures = [f for f in (ROOT / "fixtures" / rel.parent).glob(rel.name + ".*")]
    assert len(fixtures) == 1, f"expected one fixture for {rel}, found {fixtures}"
    text = fixtures[0].read_text()
    rule_id = yaml.safe_load(path.read_text())["rules"][0]["id"]
    assert f"ruleid: {rule_id}" in text
    assert f"ok: {rule_id}" in text


def test_metadata_schema_rejects_severity_mismatch(tmp_path):
    raw = yaml.safe_load(RULE_FILES[0].read_text())
    raw["rules"][0]["severity"] = "INFO" if raw["rules"][0]["severity"] != "INFO" else "ERROR"
    bad = tmp_path / RULE_FILES[0].relative_to(ROOT / "rules")
    bad.parent.mkdir(parents=True)
    bad.write_text(yaml.safe_dump(raw))
    with pytest.raises(rules_mod.RuleError, match="severity"):
        rules_mod.load_rule_file(bad)


def test_metadata_schema_requires_cwe_on_security_rules():
    schema = rules_mod.metadata_schema()
    rule = yaml.safe_load(RULE_FILES[0].read_text())["rules"][0]
    rule["metadata"]["section"] = "security"
    for key in ("cwe", "owasp", "security-severity"):
        rule["metadata"].pop(key, None)
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(rule))
    assert any("cwe" in e.message for e in errors)


def test_rule_ids_are_unique():
    ids = [yaml.safe_load(p.read_text())["rules"][0]["id"] for p in RULE_FILES]
    assert len(ids) == len(set(ids))


def test_every_area_has_a_python_rule():
    areas = {rules_mod.load_rule_file(p).area for p in RULE_FILES if p.parent.name == "python"}
    assert areas == set(rules_mod.AREAS)


def test_superseded_by_names_rules_of_the_pack_in_the_same_area():
    """A misspelt id in `superseded-by` would silently supersede nothing."""
    rules = {r.id: r for r in (rules_mod.load_rule_file(p) for p in RULE_FILES)}
    named = {(rid, other) for rid, r in rules.items()
             for other in r.raw.get("metadata", {}).get("superseded-by") or ()}
    assert named  # the login rule names the framework rules
    assert [(rid, o) for rid, o in named if o not in rules or rules[o].area != rules[rid].area or o == rid] == []
