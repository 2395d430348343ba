"""Where the pack's rules and schemas live: inside the wheel, or beside the source tree."""
from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_root() -> Path:
    """The folder holding `rules/` and `schemas/`.

    An installed wheel carries them (and `facts/`) as `backend_review/_data/`; a source checkout (editable
    install, tests) has them at the repository root.
    """
    bundled = _PACKAGE / "_data"
    if (bundled / "rules").is_dir():
        return bundled
    return _PACKAGE.parent


def rules_dir() -> Path:
    return data_root() / "rules"


def schema_path(name: str) -> Path:
    return data_root() / "schemas" / name


def facts_dir() -> Path:
    """The project-model facts (`facts/<language>/<framework>.yaml`)."""
    return data_root() / "facts"
