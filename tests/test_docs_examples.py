"""Every config example in README.md and docs/*.md is run: written into a small project and
checked by the real `doctor` and `scan`, so a doc cannot show a key, an area or a rule id
that does not exist.

A ```toml block is a config example when it has a `[tool.backend-review...]` table; a
```yaml block when its first line is `# .backend-review.yml`. Every other yaml/toml block
must be recognisably something else (a rule file, a workflow), so an unmarked config
example cannot slip past this test.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(toml|ya?ml)[ \t]*\n(.*?)^```", re.M | re.S)
YAML_MARK = re.compile(r"#\s*(\.backend-review\.ya?ml)\s*$")

# A project for the examples to apply to: a layered service with findings in it.
PROJECT = {
    "app/api/orders.py": ("import requests\nfrom app.models import Order\nfrom app import db\n\n"
                          "def list_orders():\n    requests.get('http://inventory/items')\n"
                          "    return db.session.query(Order).all()\n"),
    "app/services/orders.py": "from app.models import Order\n\ndef all_orders():\n    return Order.query.all()\n",
    "app/migrations/0001_initial.py": "x = 1\n",
    "scripts/seed.py": "import requests\nrequests.get('http://localhost')\n",
}


def blocks():
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            yield f"{doc.relative_to(ROOT)}:{line}", match.group(1), match.group(2)


def config_examples():
    out = []
    for where, lang, body in blocks():
        if lang == "toml":
            assert "[tool.backend-review" in body, f"{where}: a toml block that is not a config example"
            out.append(pytest.param("pyproject.toml", body, id=where))
            continue
        first = body.splitlines()[0] if body.strip() else ""
        mark = YAML_MARK.fullmatch(first.strip())
        if mark:
            out.append(pytest.param(mark.group(1), body, id=where))
            continue
        # Not every yaml block parses (writing-rules.md shows a schematic rule), so look at
        # the top-level keys: a rule file (`rules:`) or a workflow (`jobs:` with `steps:`).
        top = set(re.findall(r"^([A-Za-z][\w-]*):", body, re.M))
        is_rule_file = "rules" in top
        is_workflow = "jobs" in top and re.search(r"^\s+steps:", body, re.M) is not None
        assert is_rule_file or is_workflow, (
            f"{where}: a yaml block that is neither marked `# .backend-review.yml` nor a rule file or workflow")
    return out


EXAMPLES = config_examples()


def test_the_docs_have_config_examples():
    names = {p.values[0] for p in EXAMPLES}
    assert len(EXAMPLES) >= 2 and names >= {"pyproject.toml", ".backend-review.yml"}, EXAMPLES


@pytest.mark.parametrize("name, body", EXAMPLES)
def test_config_example_is_valid(cli, write_tree, name, body):
    root = write_tree({**PROJECT, name: body})
    doctor = cli("doctor", cwd=root)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert f"config                       valid             {root / name}" in doctor.stdout, doctor.stdout
    scan = cli("scan", "--no-cache", "--format", "json", cwd=root)
    assert scan.returncode in (0, 1), scan.stderr
    assert "error" not in scan.stderr, scan.stderr
