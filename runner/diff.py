"""Diff-aware scans: which lines changed since a git ref.

Git is asked with external diff drivers, textconv filters and fsmonitor hooks turned
off: those settings can come from the scanned repository and would run its programs.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

SAFE_GIT = ("git", "-c", "core.fsmonitor=false", "-c", "core.quotePath=false", "-c", "diff.noprefix=false")
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


class DiffError(Exception):
    pass


def _git(args: list[str], cwd: Path) -> str:
    try:
        proc = subprocess.run([*SAFE_GIT, *args], cwd=cwd, capture_output=True, timeout=300,
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise DiffError("--diff-base needs git, which is not installed") from None
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DiffError(f"git {args[0]} failed in {cwd}: {msg[-1] if msg else 'exit ' + str(proc.returncode)}")
    return proc.stdout.decode("utf-8", "surrogateescape")


def _unquote(name: str) -> str:
    """git C-quotes names with unusual bytes: "a\\tb.py"."""
    if not (name.startswith('"') and name.endswith('"')):
        return name
    raw = name[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
    return raw.encode("latin-1").decode("utf-8", "surrogateescape")


FETCH_HINT = "in CI check out the full history (actions/checkout with `fetch-depth: 0`)"


def merge_base(root: Path, base: str) -> str:
    """The commit `git diff BASE...HEAD` compares against: where HEAD left BASE. A branch
    behind its base then shows only its own changes, not the base's newer ones reversed."""
    if base.startswith("-"):
        raise DiffError(f"--diff-base {base!r} is not a git revision")
    try:
        shallow = _git(["rev-parse", "--is-shallow-repository"], root).strip() == "true"
    except DiffError:
        raise DiffError(f"--diff-base needs a git checkout: {root} is not inside one") from None
    hint = f"this is a shallow clone: {FETCH_HINT}" if shallow else \
        f"fetch it first (e.g. `git fetch origin {base.removeprefix('origin/')}`), or {FETCH_HINT}"
    try:
        _git(["rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"], root)
    except DiffError:
        raise DiffError(f"--diff-base {base}: no such commit in {root} ({hint})") from None
    try:
        return _git(["merge-base", base, "HEAD"], root).strip()
    except DiffError:
        why = f"this is a shallow clone: {FETCH_HINT}" if shallow else "unrelated histories?"
        raise DiffError(f"--diff-base {base}: no common ancestor of {base} and HEAD in {root} ({why})") from None


def changed_lines(root: Path, base: str) -> dict[str, set[int] | None]:
    """Map path (relative to `root`) -> lines changed since the merge base of `base` and
    HEAD (committed, staged or not); None means the whole file is new (untracked or added)."""
    since = merge_base(root, base)
    text = _git(["diff", "--no-ext-diff", "--no-textconv", "--no-color", "--relative", "-U0", since, "--", "."], root)
    out: dict[str, set[int] | None] = {}
    current: str | None = None
    for line in text.splitlines():
        if line.startswith("+++ "):
            target = line[4:]
            current = None if target == "/dev/null" else _unquote(target).removeprefix("b/")
            if current is not None:
                out.setdefault(current, set())
        elif current is not None and (m := _HUNK.match(line)):
            start, count = int(m.group(1)), int(m.group(2) or "1")
            lines = out[current]
            if lines is not None:
                lines.update(range(start, start + count))
    for name in _git(["ls-files", "--others", "--exclude-standard", "-z", "--", "."], root).split("\0"):
        if name:
            out[name] = None
    return out


def touches(changed: dict[str, set[int] | None], path: str, start: int, end: int) -> bool:
    if path not in changed:
        return False
    lines = changed[path]
    return lines is None or any(n in lines for n in range(start, end + 1))
