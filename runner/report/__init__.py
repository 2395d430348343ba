"""Reporters: one module per output format, each exposing `render(report) -> str`.

Every reporter works from `backend_review.finding.ScanReport`, never from Semgrep's JSON.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from backend_review.finding import ScanReport
from backend_review.report import json_report, markdown, sarif, text

Renderer = Callable[[ScanReport], str]

FORMATS: dict[str, Renderer] = {
    "sarif": sarif.render,
    "json": json_report.render,
    "text": text.render,
    "markdown": markdown.render,
}


# Formats a person reads as the verdict; with --diff-base they show only changed lines.
# SARIF and JSON are analyses: they keep every finding (an upload of changed lines alone
# would close every other open alert on GitHub) and mark each one `inDiff` / `in_diff`.
GATE_VIEWS = frozenset({"text", "markdown"})

# `-o FILE` without --format: the format follows the file name (longest suffix first).
EXTENSIONS = {".sarif.json": "sarif", ".sarif": "sarif", ".json": "json", ".md": "markdown",
              ".markdown": "markdown", ".txt": "text"}
TITLES = {"sarif": "SARIF", "json": "JSON", "text": "text", "markdown": "Markdown"}


def format_for(path: Path) -> str | None:
    """The format a file name asks for, or None when its extension says nothing."""
    name = path.name.lower()
    return next((fmt for ext, fmt in EXTENSIONS.items() if name.endswith(ext)), None)


def render(fmt: str, report: ScanReport) -> str:
    return FORMATS[fmt](report.changed_only() if fmt in GATE_VIEWS else report)
