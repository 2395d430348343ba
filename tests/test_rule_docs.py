"""Each rule's documentation teaches: all headings present, and the documented
`example` is flagged by the rule while the documented `fix` is not."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from backend_review import ruledocs, rules as rules_mod

ROOT = Path(__file__).resolve().parent.parent
PACK = rules_mod.load_pack(ROOT / "rules")
SEMGREP = Path(sys.executable).parent / "semgrep"


def _doc_file(rule, kind: str) -> str:
    return next(rel for k, rel, _ in ruledocs.example_files(rule) if k == kind)


@pytest.fixture(scope="session")
def doc_matches(tmp_path_factory):
    """Run the whole pack once over every rule's example and fix; map file -> rule ids."""
    root = tmp_path_factory.mktemp("docs")
    ruledocs.write_example_files(PACK, root)
    config = root / "pack.yaml"
    config.write_text(yaml.safe_dump(rules_mod.merged_config(PACK), sort_keys=False))
    proc = subprocess.run(
        [str(SEMGREP), "scan", "--metrics=off", "--disable-version-check", "--json", "--quiet",
         "--no-git-ignore", "--config", str(config), str(root)],
        capture_output=True, text=True, cwd=root, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    hits: dict[str, set[str]] = {}
    for r in json.loads(proc.stdout)["results"]:
        rel = Path(r["path"]).resolve().relative_to(root.resolve())
        hits.setdefault(str(rel), set()).add(r["check_id"])
    return hits


@pytest.mark.parametrize("rule", PACK, ids=lambda r: r.id)
def test_docs_have_every_heading(rule):
    for key in ("what", "why", "example", "fix"):
        assert rule.docs.get(key, "").strip(), f"{rule.id}: docs.{key} is empty"
    assert rule.docs["example"].strip() != rule.docs["fix"].strip()


@pytest.mark.parametrize("rule", PACK, ids=lambda r: r.id)
def test_documented_example_is_flagged(rule, doc_matches):
    assert rule.id in doc_matches.get(_doc_file(rule, "example"), set())


@pytest.mark.parametrize("rule", PACK, ids=lambda r: r.id)
def test_documented_fix_is_not_flagged(rule, doc_matches):
    assert rule.id not in doc_matches.get(_doc_file(rule, "fix"), set())


def test_path_limited_examples_are_checked_and_shown_at_their_example_path():
    rule = next(r for r in PACK if r.id == "boundaries.python.handler-queries-orm-directly")
    assert [rel for _, rel, _ in ruledocs.example_files(rule)] == [
        f"{rule.id}/example/app/api/orders.py", f"{rule.id}/fix/app/api/orders.py"]
    assert "Example (`app/api/orders.py`)" in ruledocs.markdown(rule)
    assert "Example (`app/api/orders.py`)" in ruledocs.text(rule)
    plain = next(r for r in PACK if r.id == "resilience.python.requests-without-timeout")
    assert ruledocs.example_files(plain)[0][1] == f"{plain.id}/example/example.py"
