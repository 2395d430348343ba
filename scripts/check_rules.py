#!/usr/bin/env python3
"""Check some rules quickly while writing them: metadata schema, fixtures both ways,
`semgrep --test`, and that each rule's docs example is flagged and its fix is not.

    .venv/bin/python scripts/check_rules.py rules/caching [rules/jobs ...]
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from backend_review import ruledocs, rules as rules_mod  # noqa: E402

SEMGREP = str(Path(sys.executable).parent / "semgrep")
FLAGS = ["--metrics=off", "--disable-version-check"]


def main(dirs: list[str]) -> int:
    problems: list[str] = []
    rules = []
    for d in dirs:
        for path in sorted(p for p in Path(d).rglob("*.yaml") if rules_mod.SOURCES_DIR not in p.parts):
            try:
                rules.append(rules_mod.load_rule_file(path.resolve()))
            except rules_mod.RuleError as exc:
                problems.append(str(exc))
    for rule in rules:
        rel = rule.path.relative_to(ROOT / "rules").with_suffix("")
        fx = list((ROOT / "fixtures" / rel.parent).glob(rel.name + ".*"))
        if len(fx) != 1:
            problems.append(f"{rule.id}: expected one fixture, found {len(fx)}")
            continue
        text = fx[0].read_text()
        for tag in ("ruleid", "ok"):
            if f"{tag}: {rule.id}" not in text:
                problems.append(f"{rule.id}: fixture has no `{tag}:` case")
    with tempfile.TemporaryDirectory() as tmp:
        # what the engine runs: shared source models expanded (as `make test-rules` does)
        expanded = Path(tmp) / "rules"
        rules_mod.write_expanded(rules, ROOT / "rules", expanded)
        for d in dirs:
            rel = Path(d).resolve().relative_to(ROOT / "rules")
            proc = subprocess.run([SEMGREP, "--test", *FLAGS, "--config", str(expanded / rel),
                                   str(ROOT / "fixtures" / rel)], capture_output=True, text=True)
            if proc.returncode != 0 or "All tests passed" not in proc.stdout + proc.stderr:
                problems.append(f"semgrep --test {d} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ruledocs.write_example_files(rules, root)
        (root / "pack.yaml").write_text(yaml.safe_dump(rules_mod.merged_config(rules)))
        proc = subprocess.run([SEMGREP, "scan", *FLAGS, "--json", "--quiet", "--no-git-ignore",
                               "--config", str(root / "pack.yaml"), str(root)],
                              capture_output=True, text=True, cwd=root)
        if proc.returncode not in (0, 1):
            problems.append(f"semgrep failed on docs examples: {proc.stderr[-2000:]}")
        else:
            # <rule id>/<example|fix>/<example path>
            hits = {(*Path(r["path"]).resolve().relative_to(root.resolve()).parts[:2], r["check_id"])
                    for r in json.loads(proc.stdout)["results"]}
            for rule in rules:
                if (rule.id, "example", rule.id) not in hits:
                    problems.append(f"{rule.id}: docs.example is not flagged")
                if (rule.id, "fix", rule.id) in hits:
                    problems.append(f"{rule.id}: docs.fix is flagged")
    for p in problems:
        print("FAIL", p)
    print(f"{len(rules)} rules checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["rules"]))
