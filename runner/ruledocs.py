"""Render a rule's documentation (its `metadata.docs`) for every place it is shown:
`rules show`, the catalogue `docs/rules.md`, and SARIF's help and descriptions."""
from __future__ import annotations

import textwrap
from pathlib import Path

from backend_review import targets
from backend_review.rules import Rule

DOCS_URL = "https://github.com/backend-review/backend-review/blob/main/docs/rules.md"
FULL_DESCRIPTION_LIMIT = 1024


def anchor(rule: Rule) -> str:
    """GitHub's heading anchor for a `### <id>` heading: dots are dropped."""
    return rule.id.replace(".", "")


def help_uri(rule: Rule) -> str:
    return f"{DOCS_URL}#{anchor(rule)}"


def _fold(text: str) -> str:
    return " ".join(text.split())


def full_description(rule: Rule) -> str:
    text = f"{_fold(rule.docs['what'])} {_fold(rule.docs['why'])}"
    if len(text) <= FULL_DESCRIPTION_LIMIT:
        return text
    cut = text[:FULL_DESCRIPTION_LIMIT - 1].rsplit(" ", 1)[0]
    return cut + "…"


def suppression_hint(rule: Rule) -> str:
    return f"# nosemgrep: {rule.id} -- <why this is safe here>"


def _fence(rule: Rule) -> str:
    return {"python": "python", "javascript": "javascript", "typescript": "typescript",
            "go": "go", "java": "java"}.get(rule.language, "")


def example_path(rule: Rule) -> str:
    """Where the documented example lives in a project: `docs.example-path` for rules limited by
    `paths:` (such as `services/billing/invoices.py`), otherwise `example.<ext>`."""
    return rule.docs.get("example-path") or f"example{targets.EXTENSIONS[rule.language][0]}"


def example_files(rule: Rule) -> list[tuple[str, str, str]]:
    """(kind, relative path, source) for the documented example and fix, laid out as
    `<rule id>/<kind>/<example path>` so that rules limited by `paths:` match them the way they
    match a project's files. The rule-doc checks write these under one temporary folder."""
    if not rule.docs.get("example"):  # generated contract rules have no examples
        return []
    return [(kind, f"{rule.id}/{kind}/{example_path(rule)}", rule.docs[kind]) for kind in ("example", "fix")]


def write_example_files(rules: list[Rule], root: Path) -> None:
    for rule in rules:
        for _kind, rel, source in example_files(rule):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(source)


def _caption(rule: Rule) -> str:
    return f" (`{rule.docs['example-path']}`)" if rule.docs.get("example-path") else ""


def markdown(rule: Rule, heading_level: int = 2) -> str:
    h = "#" * heading_level
    fence = _fence(rule)
    rows = [
        "| severity | confidence | section | area | language | technology |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| {rule.severity.label} | {rule.confidence} | {rule.section} | {rule.area} | "
        f"{', '.join(rule.languages)} | {', '.join(rule.technology)} |",
    ]
    parts = ["\n".join(rows)]
    if rule.preview:
        parts.append(f"**Preview rule: off unless `--preview`.** {rule.preview}")
    parts += [
        f"{h} What it does\n\n{_fold(rule.docs['what'])}",
        f"{h} Why is this bad?\n\n{_fold(rule.docs['why'])}",
    ]
    if rule.docs.get("example"):  # generated contract rules have no examples
        parts += [f"{h} Example{_caption(rule)}\n\n```{fence}\n{rule.docs['example'].rstrip()}\n```",
                  f"Use instead:\n\n```{fence}\n{rule.docs['fix'].rstrip()}\n```"]
    parts.append(f"{h} Remediation\n\n{rule.remediation}")
    if rule.docs.get("options"):
        parts.append(f"{h} Options\n\n{_fold(rule.docs['options'])}")
    parts.append(f"{h} Suppression\n\nAdd `{suppression_hint(rule)}` on the line (or the line above), "
                 f"or list the finding in a baseline with a reason.")
    refs = [*rule.references]
    refs += [c for c in rule.cwe] + [o for o in rule.owasp]
    parts.append(f"{h} References\n\n" + "\n".join(f"- {r}" for r in refs))
    return "\n\n".join(parts) + "\n"


def text(rule: Rule, width: int = 88) -> str:
    """Plain text for the terminal (`rules show`)."""
    def para(title: str, body: str) -> str:
        return f"{title}\n" + textwrap.fill(_fold(body), width, initial_indent="  ", subsequent_indent="  ")

    def code(title: str, body: str) -> str:
        return f"{title}\n" + textwrap.indent(body.rstrip(), "    ")

    head = (f"{rule.id}  ({rule.title})\n"
            f"  severity {rule.severity.label} · confidence {rule.confidence} · section {rule.section} · "
            f"area {rule.area} · {', '.join(rule.languages)} · {', '.join(rule.technology)}")
    if rule.is_security:
        head += f"\n  {'; '.join(rule.cwe)} · {'; '.join(rule.owasp)} · security-severity {rule.security_severity}"
    if rule.preview:
        head += "\n" + textwrap.fill(f"Preview: off unless --preview. {rule.preview}", width,
                                     initial_indent="  ", subsequent_indent="  ")
    parts = [head, para("What it does", rule.docs["what"]), para("Why is this bad?", rule.docs["why"])]
    if rule.docs.get("example"):
        parts += [code(f"Example{_caption(rule)}", rule.docs["example"]), code("Use instead", rule.docs["fix"])]
    parts.append(para("Remediation", rule.remediation))
    if rule.docs.get("options"):
        parts.append(para("Options", rule.docs["options"]))
    parts.append(f"Suppression\n  {suppression_hint(rule)}")
    parts.append("References\n" + "\n".join(f"  - {r}" for r in rule.references))
    parts.append(f"Docs: {help_uri(rule)}")
    return "\n\n".join(parts) + "\n"
