"""Report Python files that do not parse.

Semgrep's Python parser recovers from errors silently (its JSON lists no error for a
file with a syntax error), so a broken file would look "clean". The runner parses
Python targets with `ast.parse` (parsing only: nothing is imported or executed) while
the engine runs, and reports each failure as a notification; the scan goes on.
"""
from __future__ import annotations

import ast
import threading
import warnings
from pathlib import Path

from backend_review.finding import Notification


def check_python(root: Path, files: list[str]) -> list[Notification]:
    notes = []
    for rel in files:
        if not rel.endswith((".py", ".pyi")):
            continue
        try:
            source = (root / rel).read_bytes()
        except OSError as exc:
            notes.append(Notification("warning", f"cannot read: {exc.strerror}", rel, kind="syntax"))
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # SyntaxWarning for odd escapes is not our business
                ast.parse(source, filename=rel)
        except SyntaxError as exc:
            detail = (exc.msg or "invalid syntax").split("\n")[0]
            notes.append(Notification("warning", f"syntax error (not valid Python 3.11): {detail}; "
                                      "findings in this file may be incomplete", rel, exc.lineno, kind="syntax"))
        except (ValueError, RecursionError, MemoryError) as exc:
            notes.append(Notification("warning", f"could not parse: {type(exc).__name__}", rel, kind="syntax"))
    return notes


class Background:
    """Run `check_python` in a thread while the engine subprocess works."""

    def __init__(self, root: Path, files: list[str]):
        self.notes: list[Notification] = []
        self._thread = threading.Thread(target=self._run, args=(root, files), daemon=True)
        self._thread.start()

    def _run(self, root: Path, files: list[str]) -> None:
        self.notes = check_python(root, files)

    def result(self) -> list[Notification]:
        self._thread.join()
        return self.notes
