"""SARIF output: valid against the official 2.1.0 schema and within GitHub's limits."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from backend_review.report.sarif import artifact_uri, to_json_dict
import sarif_om as om

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schemas" / "sarif-schema-2.1.0.json").read_text())
# Draft 7's class with its format checker: the schema's own draft-04 class would skip
# `uri-reference` checks, which is what GitHub rejects.
VALIDATOR = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def validate(doc: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(doc)]


def test_format_checker_really_checks_uris():
    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [
        {"message": {"text": "m"}, "locations": [{"physicalLocation": {"artifactLocation": {"uri": "my file#1.py"}}}]}]}]}
    assert validate(bad), "an unencoded space must fail uri-reference"


def test_demo_scan_is_schema_valid(demo_sarif):
    doc = json.loads(demo_sarif.read_text())
    assert validate(doc) == []
    assert doc["runs"][0]["results"], "the demo service must produce findings"


def test_one_run_with_tool_and_automation_details(demo_sarif):
    doc = json.loads(demo_sarif.read_text())
    assert len(doc["runs"]) == 1
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "backend-review" and driver["version"] and driver["informationUri"].startswith("https://")
    assert run["automationDetails"]["id"] == "backend-review/"
    assert "%SRCROOT%" in run["originalUriBaseIds"]
    assert "uri" not in run["originalUriBaseIds"]["%SRCROOT%"], "no absolute path by default"
    assert run["invocations"][0]["executionSuccessful"] is True


def test_rules_carry_what_github_and_viewers_show(demo_sarif):
    run = json.loads(demo_sarif.read_text())["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len({r["id"] for r in rules}) == len(rules)
    for r in rules:
        assert r["name"] != r["id"]
        assert r["shortDescription"]["text"] and r["fullDescription"]["text"]
        assert len(r["fullDescription"]["text"]) <= 1024
        assert r["help"]["text"] and "## " not in r["help"]["text"]
        assert "### Example" in r["help"]["markdown"]
        assert r["helpUri"].startswith("https://")
        assert r["defaultConfiguration"]["level"] in ("error", "warning", "note")
        props = r["properties"]
        assert 1 <= len(props["tags"]) <= 10  # GitHub keeps 10, rejects more than 20
        assert props["precision"] in ("very-high", "high", "medium", "low")
        assert props["problem.severity"] in ("error", "warning", "recommendation")
        if "security" in props["tags"]:
            score = float(props["security-severity"])  # must be a numeric string
            assert isinstance(props["security-severity"], str) and 0.1 <= score <= 10.0
            assert any(t.startswith("external/cwe/cwe-") for t in props["tags"])


def test_results_point_at_rules_and_relative_uris(demo_sarif):
    run = json.loads(demo_sarif.read_text())["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    seen = set()
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        uri = loc["artifactLocation"]["uri"]
        assert not uri.startswith(("/", "file:"))
        assert (ROOT / uri).exists(), "URIs are relative to the scan root (here: the repository)"
        region = loc["region"]
        assert region["startLine"] >= 1 and region["endLine"] >= region["startLine"]
        assert region["snippet"]["text"].strip() and "requires login" not in region["snippet"]["text"]
        assert res["level"] == rules[res["ruleIndex"]]["defaultConfiguration"]["level"]
        fp = res["partialFingerprints"]
        assert fp["primaryLocationLineHash"].count(":") == 1
        key = (res["ruleId"], fp["backendReview/v1"])
        assert key not in seen, "distinct results need distinct fingerprints"
        seen.add(key)
        assert "Remediation:" in res["message"]["text"]


def test_levels_follow_the_severity_scale(demo_sarif):
    run = json.loads(demo_sarif.read_text())["runs"][0]
    expected = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
    for res in run["results"]:
        assert res["level"] == expected[res["properties"]["severity"]]


@pytest.mark.parametrize("name,uri", [("my file#1.py", "my%20file%231.py"), ("dir/ünï.py", "dir/%C3%BCn%C3%AF.py"),
                                      ("a%b.py", "a%25b.py"), ("new\nline.py", "new%0Aline.py")])
def test_artifact_uri_is_a_valid_uri_reference(name, uri):
    assert artifact_uri(name) == uri
    assert jsonschema.Draft7Validator.FORMAT_CHECKER.conforms(uri, "uri-reference")


def test_serializer_keeps_set_defaults_and_drops_none():
    result = om.Result(message=om.Message(text="m"), level="warning")
    out = to_json_dict(result)
    assert out["level"] == "warning"          # equal to sarif-om's default, still written
    assert "ruleIndex" not in out              # -1 is the schema's "unset"
    assert "analysisTarget" not in out         # None is dropped
    assert not any(v is None for v in out.values())


def test_file_with_space_and_hash_scans_to_valid_sarif(cli, write_tree, tmp_path):
    root = write_tree({"my file#1.py": "import requests\n\ndef f():\n    return requests.get('https://x.test')\n"})
    out = tmp_path / "o.sarif"
    proc = cli("scan", ".", "--area", "resilience", "--format", "sarif", "-o", out, cwd=root)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(out.read_text())
    assert validate(doc) == []
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in doc["runs"][0]["results"]]
    assert uris == ["my%20file%231.py"]
    assert doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 4


def test_absolute_base_uri_is_opt_in(cli, write_tree, tmp_path):
    root = write_tree({"app.py": "import requests\nrequests.get('https://x.test')\n"})
    out = tmp_path / "o.sarif"
    cli("scan", ".", "--area", "resilience", "--format", "sarif", "-o", out, "--absolute-base-uri", cwd=root)
    base = json.loads(out.read_text())["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]
    assert base["uri"].startswith("file:///") and base["uri"].endswith("/")
    assert validate(json.loads(out.read_text())) == []
