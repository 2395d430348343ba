#!/usr/bin/env python3
"""Scaffold a rule and its fixture with every required field and empty doc headings.

    make new-rule AREA=resilience LANG=python SLUG=httpx-timeout-disabled
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AREAS = ("api", "database", "caching", "jobs", "boundaries", "auth", "ratelimit", "validation",
         "statefulness", "resilience")
EXT = {"python": "py", "javascript": "js", "typescript": "ts", "go": "go", "java": "java"}
COMMENT = {"python": "#", "javascript": "//", "typescript": "//", "go": "//", "java": "//"}

RULE = """rules:
  - id: {id}
    languages: [{lang}]
    severity: WARNING
    message: >-
      TODO: what is wrong and why it matters at scale, in one or two sentences.
    metadata:
      area: {area}
      severity: medium
      section: TODO-architecture-scalability-security-performance
      confidence: medium
      remediation: >-
        TODO: what to do instead, concretely.
      references:
        - https://TODO
      technology: [TODO]
      docs:
        what: >-
          TODO
        why: >-
          TODO
        example: |
          TODO
        fix: |
          TODO
    pattern: TODO(...)
"""

FIXTURE = """{c} ruleid: {id}
TODO_bad_case()

{c} ok: {id}
TODO_safe_idiom()
"""


def main(area: str, lang: str, slug: str) -> int:
    if area not in AREAS or lang not in EXT or not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug):
        print(f"usage: new_rule.py AREA LANG SLUG (AREA in {', '.join(AREAS)}; LANG in {', '.join(EXT)}; "
              "SLUG kebab-case naming the pattern)", file=sys.stderr)
        return 2
    rule_id = f"{area}.{lang}.{slug}"
    rule_path = ROOT / "rules" / area / lang / f"{slug}.yaml"
    fixture_path = ROOT / "fixtures" / area / lang / f"{slug}.{EXT[lang]}"
    for p in (rule_path, fixture_path):
        if p.exists():
            print(f"new_rule.py: {p} exists already", file=sys.stderr)
            return 2
    rule_path.parent.mkdir(parents=True, exist_ok=True)
    fixture_path.parent.mkdir(parents=True, exist_ok=True)
    rule_path.write_text(RULE.format(id=rule_id, lang=lang, area=area))
    fixture_path.write_text(FIXTURE.format(id=rule_id, c=COMMENT[lang]))
    print(f"wrote {rule_path.relative_to(ROOT)} and {fixture_path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]) if len(sys.argv) == 4 else main("", "", ""))
