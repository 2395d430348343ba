"""Which files a scan sends to the engine.

The runner lists targets itself (instead of letting Semgrep walk the tree) so that the
choice is the same in and out of git checkouts, explicit, and shared by the cache and
sharding. Files are returned relative to the scan root, in a stable order.
"""
from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

EXTENSIONS = {
    "python": (".py", ".pyi"),
    "javascript": (".js", ".jsx", ".mjs", ".cjs"),
    "typescript": (".ts", ".tsx"),
    "go": (".go",),
    "java": (".java",),
}

# Folders that hold other people's code or build output, never the team's own.
ALWAYS_SKIPPED_DIRS = frozenset({
    ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "node_modules", "__pycache__",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", "site-packages", ".backend-review-cache",
})
# Semgrep's own default ignores tests; so do we, unless the config's `exclude` says otherwise.
DEFAULT_EXCLUDE = ("tests/", "test/", "build/", "dist/", "vendor/", "*.min.js")

BINARY_SNIFF_BYTES = 8192


class TargetError(Exception):
    """A target the user named cannot be scanned; the message names it."""


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class TargetSet:
    root: Path
    files: list[str] = field(default_factory=list)  # POSIX paths relative to root
    skipped: list[Skipped] = field(default_factory=list)


def scan_root(paths: list[Path], cwd: Path) -> Path:
    """URIs are relative to this folder: the working directory when every target lies
    inside it (CI runs from the repository root), else the targets' common folder."""
    resolved = [p.resolve() for p in paths]
    cwd = cwd.resolve()
    if all(p == cwd or cwd in p.parents for p in resolved):
        return cwd
    common = Path(os.path.commonpath([str(p) for p in resolved]))
    return common if common.is_dir() else common.parent


def excluded(rel: str, patterns: tuple[str, ...] | list[str]) -> bool:
    """gitignore-like matching: `dir/` matches a folder at any depth, a pattern with a
    slash matches from the root, a bare pattern matches any path component or name."""
    parts = PurePosixPath(rel).parts
    for pat in patterns:
        if pat.endswith("/"):
            name = pat.rstrip("/")
            if any(fnmatch.fnmatchcase(part, name) for part in parts[:-1]):
                return True
        elif "/" in pat:
            if fnmatch.fnmatchcase(rel, pat.lstrip("/")) or fnmatch.fnmatchcase(rel, pat.lstrip("/") + "/*"):
                return True
        elif any(fnmatch.fnmatchcase(part, pat) for part in parts):
            return True
    return False


def collect(paths: list[Path], *, languages: set[str], exclude: tuple[str, ...] | list[str],
            max_bytes: int, cwd: Path | None = None) -> TargetSet:
    cwd = cwd or Path.cwd()
    if not paths:
        paths = [cwd]
    for p in paths:
        if p.is_symlink() and not p.exists():
            raise TargetError(f"broken symbolic link: {p}")
        if not p.exists():
            raise TargetError(f"path does not exist: {p}")
        if not os.access(p, os.R_OK):
            raise TargetError(f"cannot read {p}: permission denied")
    root = scan_root(paths, cwd)
    suffixes = tuple(s for lang in sorted(languages) for s in EXTENSIONS.get(lang, ()))
    out = TargetSet(root=root)
    seen: set[str] = set()

    def consider(path: Path, explicit: bool) -> None:
        rel = relative(path, root)
        if rel in seen:
            return
        seen.add(rel)
        if not path.name.endswith(suffixes):
            return
        if not explicit and excluded(rel, exclude):
            return
        if path.is_symlink() and not path.exists():
            out.skipped.append(Skipped(rel, "broken symbolic link"))
            return
        try:
            size = path.stat().st_size
            with open(path, "rb") as fh:
                head = fh.read(BINARY_SNIFF_BYTES)
        except OSError as exc:
            raise TargetError(f"cannot read {rel}: {exc.strerror or exc}") from None
        if b"\0" in head:
            out.skipped.append(Skipped(rel, "binary content (NUL bytes) in a source-named file"))
        elif max_bytes and size > max_bytes:
            out.skipped.append(Skipped(rel, f"larger than {max_bytes} bytes ({size} bytes)"))
        else:
            out.files.append(rel)

    for p in paths:
        if p.is_dir():
            walk(p, root, exclude, consider)
        else:
            consider(p, explicit=True)
    out.files.sort()
    out.skipped.sort(key=lambda s: s.path)
    return out


def walk(top: Path, root: Path, exclude, consider) -> None:
    # os.walk does not follow symlinked folders, so a symlink loop cannot trap it.
    def onerror(exc: OSError) -> None:
        raise TargetError(f"cannot read {exc.filename}: {exc.strerror}")

    for dirpath, dirnames, filenames in os.walk(top, onerror=onerror):
        base = Path(dirpath)
        keep = []
        for d in sorted(dirnames):
            if d in ALWAYS_SKIPPED_DIRS or excluded(relative(base / d, root) + "/x", exclude):
                continue
            keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            if not (base / name).is_symlink():  # a walk never follows links
                consider(base / name, explicit=False)


def relative(path: Path, root: Path) -> str:
    return Path(os.path.relpath(os.path.realpath(path.parent) + os.sep + path.name, root)).as_posix()


def shard(root: Path, files: list[str], k: int, n: int) -> list[str]:
    """The files of shard k (1-based) of n: every file in exactly one shard, the same
    split on every machine (it depends only on paths and sizes), balanced by size
    (largest first, each to the lightest shard so far; ties to the lowest shard)."""
    if not (1 <= k <= n):
        raise TargetError(f"--shard {k}/{n}: K must be between 1 and N")
    sizes = []
    for rel in files:
        try:
            sizes.append(((root / rel).stat().st_size, rel))
        except OSError:
            sizes.append((0, rel))
    load = [0] * n
    mine = []
    for size, rel in sorted(sizes, key=lambda x: (-x[0], x[1])):
        target = min(range(n), key=lambda i: (load[i], i))
        load[target] += max(size, 1)
        if target == k - 1:
            mine.append(rel)
    return sorted(mine)
