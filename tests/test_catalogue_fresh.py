"""docs/rules.md is generated from the rules: this fails when it is stale."""
from pathlib import Path

from backend_review import catalogue
from backend_review.rules import load_pack

ROOT = Path(__file__).resolve().parent.parent


def test_catalogue_is_fresh():
    expected = catalogue.render(load_pack(ROOT / "rules"))
    actual = (ROOT / "docs" / "rules.md").read_text()
    assert actual == expected, "docs/rules.md is stale: run `make catalogue`"


def test_catalogue_lists_every_rule_with_an_anchor():
    text = (ROOT / "docs" / "rules.md").read_text()
    for rule in load_pack(ROOT / "rules"):
        assert f"### {rule.id}\n" in text
        assert f"](#{rule.id.replace('.', '')})" in text
