"""Reporters: one module per output format, each exposing `render(report) -> str`.

Every reporter works from `backend_review.finding.ScanReport`, never from Semgrep's JSON.
"""
from __future__ import annotations

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


def render(fmt: str, report: ScanReport) -> str:
    return FORMATS[fmt](report)
