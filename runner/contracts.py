"""Layer contracts from the config's `boundaries` section, turned into rules at run time.

    boundaries:
      - name: api-uses-services
        from: ["*/api/*", "*/views.py"]          # the layer (fnmatch globs; `*` spans folders)
        forbid-imports: ["app.models*", "app.db"] # module globs it must not import
        forbid-calls: ["db.session", "engine.connect"]  # call prefixes it must not make
        severity: medium                           # default medium; a glob in the
                                                   # config's `severity` table does not override it

Each contract becomes the rule `boundaries.python.contract-<name>`; its findings are
kept only for files matching `from` (the runner filters by path, so globs mean the same
in and out of git checkouts).
"""
from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from backend_review.finding import Severity
from backend_review.rules import Rule

PREFIX = "boundaries.python.contract-"


def _module_regex(globs: list[str]) -> str:
    return "^(" + "|".join(fnmatch.translate(g).removeprefix("(?s:").removesuffix(")\\Z") for g in globs) + ")$"


def _call_patterns(prefix: str) -> list[dict]:
    if not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_]\w*)*", prefix):
        raise ValueError(f"forbid-calls entry {prefix!r} is not a dotted name")
    return [{"pattern": f"{prefix}(...)"}, {"pattern": f"{prefix}.$METHOD(...)"}]


def to_rule(contract: dict, config_path: Path | None) -> Rule:
    name = contract["name"]
    severity = Severity.parse(contract.get("severity", "medium"))
    layer = ", ".join(contract["from"])
    either: list[dict] = []
    if contract.get("forbid-imports"):
        either.append({"patterns": [
            {"pattern-either": [{"pattern": "import $MODULE"}, {"pattern": "from $MODULE import $NAME"},
                                {"pattern": "import $MODULE as $ALIAS"}]},
            {"metavariable-regex": {"metavariable": "$MODULE", "regex": _module_regex(contract["forbid-imports"])}},
        ]})
    for prefix in contract.get("forbid-calls", []):
        either += _call_patterns(prefix)
    forbidden = ", ".join([*contract.get("forbid-imports", []), *(f"{c}(...)" for c in contract.get("forbid-calls", []))])
    message = contract.get("message") or (
        f"Layer contract '{name}': code in {layer} must not use {forbidden}; reaching past the layer couples "
        "handlers to storage and makes the service layer impossible to change or test alone.")
    rule_id = PREFIX + name
    raw = {"id": rule_id, "languages": ["python"], "severity": severity.semgrep, "message": message,
           "metadata": {"area": "boundaries", "severity": severity.name.lower()},
           "pattern-either": either}
    docs = {"what": f"A project contract from {config_path or 'the config'}: files matching {layer} must not "
                    f"import or call {forbidden}.",
            "why": "Layer contracts keep dependencies pointing one way; a handler that reaches the ORM or another "
                   "module's internals directly spreads storage details through the code base.",
            "example": "", "fix": ""}
    return Rule(id=rule_id, area="boundaries", language="python", languages=("python",), severity=severity,
                section="architecture", confidence="high", message=message,
                remediation=f"Go through the layer the contract allows (a service or repository function) "
                            f"instead of {forbidden}.",
                references=("https://martinfowler.com/bliki/PresentationDomainDataLayering.html",),
                technology=("python",), cwe=(), owasp=(), security_severity=None, docs=docs,
                path=config_path or Path("<config>"), raw=raw)


def rules_from_config(contracts: list[dict], config_path: Path | None) -> list[Rule]:
    return [to_rule(c, config_path) for c in contracts]


def explicit_severity_ids(contracts: list[dict]) -> set[str]:
    """Contract rules whose severity the contract states itself: a glob in the `severity`
    table (`"boundaries.python.*": low`) must not override it; only the exact id may."""
    return {PREFIX + c["name"] for c in contracts if "severity" in c}


def duplicate_names(contracts: list[dict]) -> list[str]:
    names = [c["name"] for c in contracts]
    return sorted({n for n in names if names.count(n) > 1})


def in_layer(rule_id: str, path: str, contracts: list[dict]) -> bool:
    """True when a finding of `rule_id` at `path` is inside its contract's layer."""
    for c in contracts:
        if PREFIX + c["name"] == rule_id:
            return any(fnmatch.fnmatchcase(path, g) for g in c["from"])
    return True
