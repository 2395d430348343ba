"""Where a report goes: stdout or a file written atomically; and reading back a JSON file this
tool wrote (a baseline, a shard's SARIF)."""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path


class OutputError(Exception):
    pass


def read_json(path: Path, kind: str, error: type[Exception]) -> object:
    """The parsed document, or `error` with a one-line message naming the file."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: {kind} file not found") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise error(f"{path}: not a readable {kind} JSON file: {exc}") from None


def check_writable(path: Path) -> None:
    """Fail before scanning, not after, when the output cannot be written."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OutputError(f"output path is a directory: {path}")
    if not parent.is_dir():
        raise OutputError(f"output directory does not exist: {parent}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"output directory is not writable: {parent}")


def write(path: Path | None, text: str) -> None:
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    # Write beside the target and rename over it: a failed run never leaves half a file.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as exc:  # an OSError, or Ctrl-C/SIGTERM mid-write: leave no temporary file
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise
