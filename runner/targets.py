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


@dataclass(frozen=True)
class Exclude:
    """One exclude pattern, gitignore-like: `name/` matches a folder of that name at any
    depth; a pattern with a `/` elsewhere is anchored at `base` (the config file's folder
    for config patterns, the working directory for `--exclude`; default: the scan root)
    and matches that path and everything below it; a bare pattern matches a file or folder
    name at any depth. fnmatch globs: `*` also matches `/`, a leading `**/` unanchors."""
    pattern: str
    base: Path | None = None

    @property
    def dir_only(self) -> bool:
        return self.pattern.endswith("/")

    @property
    def glob(self) -> str:
        return self.pattern.rstrip("/").removeprefix("./").lstrip("/")

    @property
    def anchored(self) -> bool:
        return self.pattern.startswith(("/", "./")) or ("/" in self.glob and not self.glob.startswith("**/"))

    def matches(self, rel: str, is_dir: bool, root: Path) -> bool:
        """Whether the entry `rel` (relative to `root`) itself matches; its parents are
        checked on their own, as the walk reaches them."""
        if self.dir_only and not is_dir:
            return False
        if not self.anchored:
            return fnmatch.fnmatchcase(PurePosixPath(rel).name, self.glob.removeprefix("**/"))
        if self.base is not None:
            rel = Path(os.path.relpath(root / rel, self.base)).as_posix()
            if rel == ".." or rel.startswith("../"):
                return False
        return fnmatch.fnmatchcase(rel, self.glob)


IGNORE_FILES = (".gitignore", ".semgrepignore")


@dataclass(frozen=True)
class IgnoreFile:
    """The patterns of one `.gitignore`/`.semgrepignore`, in gitignore's terms: a pattern
    with a `/` other than a trailing one is anchored at the file's folder, a bare one
    matches at any depth below it, `!` re-includes, and the last matching line decides."""
    folder: Path
    lines: tuple[tuple[bool, Exclude], ...]

    @classmethod
    def read(cls, path: Path) -> "IgnoreFile | None":
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        lines = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#") or line.startswith(":"):  # ':include' is semgrep's
                continue
            negated = line.startswith("!")
            pattern = line[1:] if negated else line
            if "/" in pattern.rstrip("/") and not pattern.startswith(("/", "**/")):
                pattern = "/" + pattern  # gitignore: a middle slash anchors at the file's folder
            lines.append((negated, Exclude(pattern, path.parent.resolve())))
        return cls(path.parent.resolve(), tuple(lines)) if lines else None

    def decides(self, rel: str, is_dir: bool, root: Path) -> bool | None:
        """True: ignored; False: re-included; None: no line matches."""
        full = (root / rel).resolve()
        if self.folder != full and self.folder not in full.parents:
            return None
        verdict = None
        for negated, pattern in self.lines:
            local = Path(os.path.relpath(full, self.folder)).as_posix()
            if pattern.matches(local, is_dir, self.folder):
                verdict = not negated
        return verdict


def ignore_files_above(top: Path) -> list[IgnoreFile]:
    """Ignore files in the folders above `top`, up to the repository root (the first
    folder with `.git`), outermost first; none outside a repository."""
    folders = []
    for d in [top.resolve(), *top.resolve().parents]:
        folders.append(d)
        if (d / ".git").exists():
            break
    else:
        return []
    found = [IgnoreFile.read(d / name) for d in reversed(folders[1:]) for name in IGNORE_FILES]
    return [f for f in found if f]


def ignored_by(files: list[IgnoreFile], rel: str, is_dir: bool, root: Path) -> bool:
    verdict = None
    for f in files:
        decided = f.decides(rel, is_dir, root)
        if decided is not None:
            verdict = decided
    return bool(verdict)


def as_excludes(patterns, base: Path | None = None) -> list[Exclude]:
    return [p if isinstance(p, Exclude) else Exclude(p, base) for p in patterns]


@dataclass
class TargetSet:
    root: Path
    files: list[str] = field(default_factory=list)  # POSIX paths relative to root
    skipped: list[Skipped] = field(default_factory=list)
    matched: set[Exclude] = field(default_factory=set)  # patterns that excluded something
    force_excluded: list[tuple[str, str]] = field(default_factory=list)  # (path named, pattern)
    walked: bool = False  # at least one folder was walked (so an unused pattern means something)
    ignored: int = 0  # files and folders skipped because a .gitignore/.semgrepignore lists them


def scan_root(paths: list[Path], cwd: Path) -> Path:
    """URIs are relative to this folder: the working directory when every target lies
    inside it (CI runs from the repository root), else the targets' common folder."""
    resolved = [p.resolve() for p in paths]
    cwd = cwd.resolve()
    if all(p == cwd or cwd in p.parents for p in resolved):
        return cwd
    common = Path(os.path.commonpath([str(p) for p in resolved]))
    return common if common.is_dir() else common.parent


def entry_excluded(rel: str, is_dir: bool, patterns: list[Exclude], root: Path) -> Exclude | None:
    """The pattern that excludes this one entry (not looking at its parents), if any."""
    if is_dir and PurePosixPath(rel).name in ALWAYS_SKIPPED_DIRS:
        return Exclude(PurePosixPath(rel).name + "/")
    for pat in patterns:
        if pat.matches(rel, is_dir, root):
            return pat
    return None


def path_excluded(rel: str, is_dir: bool, patterns: list[Exclude], root: Path) -> Exclude | None:
    """The pattern that excludes `rel` or one of its folders below the scan root."""
    parts = PurePosixPath(rel).parts
    if rel in ("", ".") or ".." in parts:
        return None
    for i in range(1, len(parts) + 1):
        hit = entry_excluded("/".join(parts[:i]), is_dir or i < len(parts), patterns, root)
        if hit:
            return hit
    return None


def excluded(rel: str, patterns, root: Path | None = None) -> bool:
    """Whether a file at `rel` is excluded by `patterns` (strings or Exclude)."""
    return path_excluded(rel, False, as_excludes(patterns), root or Path.cwd()) is not None


def check_path(p: Path) -> None:
    """A path named by the user must exist and be readable."""
    if p.is_symlink() and not p.exists():
        raise TargetError(f"broken symbolic link: {p}")
    if not p.exists():
        raise TargetError(f"path does not exist: {p}")
    if not os.access(p, os.R_OK):
        raise TargetError(f"cannot read {p}: permission denied")


def collect(paths: list[Path], *, languages: set[str], exclude, max_bytes: int, cwd: Path | None = None,
            force_exclude: bool = True, respect_ignore_files: bool = True) -> TargetSet:
    """`exclude`: patterns (strings are anchored at the scan root, or Exclude). With
    `force_exclude` (the default, which pre-commit relies on) they apply to paths named
    on the command line too, as ruff's `--force-exclude`; without it a named file is
    always scanned and a named folder is walked (its contents still filtered)."""
    cwd = cwd or Path.cwd()
    if not paths:
        paths = [cwd]
    for p in paths:
        check_path(p)
    root = scan_root(paths, cwd)
    patterns = as_excludes(exclude)
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
        if explicit:
            hit = path_excluded(rel, False, patterns, root) if force_exclude else None
        else:
            hit = entry_excluded(rel, False, patterns, root)
        if hit:
            out.matched.add(hit)
            if explicit:
                out.force_excluded.append((rel, hit.pattern))
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
            top = relative(p, root) if p.resolve() != root else "."
            hit = path_excluded(top, True, patterns, root) if force_exclude else None
            if hit:
                out.matched.add(hit)
                out.force_excluded.append((top + "/", hit.pattern))
                continue
            out.walked = True
            walk(p, root, patterns, consider, out, respect_ignore_files)
        else:
            consider(p, explicit=True)
    out.files.sort()
    out.skipped.sort(key=lambda s: s.path)
    out.force_excluded.sort()
    return out


def walk(top: Path, root: Path, patterns: list[Exclude], consider, out: TargetSet,
         respect_ignore_files: bool = True) -> None:
    """Walk `top`, pruning excluded folders and, like git and semgrep, whatever the
    `.gitignore`/`.semgrepignore` files of the repository list."""
    # os.walk does not follow symlinked folders, so a symlink loop cannot trap it.
    def onerror(exc: OSError) -> None:
        raise TargetError(f"cannot read {exc.filename}: {exc.strerror}")

    ignores: dict[str, list[IgnoreFile]] = {}
    for dirpath, dirnames, filenames in os.walk(top, onerror=onerror):
        base = Path(dirpath)
        here: list[IgnoreFile] = []
        if respect_ignore_files:
            parent = ignores.get(str(base.parent)) if base != top else ignore_files_above(top)
            here = list(parent or []) + [f for f in (IgnoreFile.read(base / n) for n in IGNORE_FILES
                                                     if n in filenames) if f]
            ignores[dirpath] = here
        keep = []
        for d in sorted(dirnames):
            if d.startswith("."):  # dot folders (.github, .semgrep, .venv...) hold no deployed code
                continue
            rel = relative(base / d, root)
            hit = entry_excluded(rel, True, patterns, root)
            if hit:
                out.matched.add(hit)
                continue
            if here and ignored_by(here, rel, True, root):
                out.ignored += 1
                continue
            keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            path = base / name
            if path.is_symlink():  # a walk never follows links
                continue
            if here and ignored_by(here, relative(path, root), False, root):
                out.ignored += 1
                continue
            consider(path, explicit=False)


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
