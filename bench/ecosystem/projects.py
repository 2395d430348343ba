"""The pinned projects: read projects.toml, download, verify and unpack them into the cache.

Cache layout (outside the repository):
  dl/<file>                 the pinned file, copied as is from the package index (never built),
                            sha256-checked before every use
  src/<project>/            every dist of the project unpacked here, without *.dist-info
  src/<project>.unpacked    the sha256s that src/<project>/ was unpacked from (a stamp)
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
import tomllib
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECTS_FILE = HERE / "projects.toml"
HALVES = ("measuring", "tuning")  # the order every table uses: the number to quote first


class EcosystemError(Exception):
    """One line: what failed and where."""


@dataclass(frozen=True)
class Dist:
    spec: str
    file: str
    sha256: str


@dataclass(frozen=True)
class Project:
    name: str
    half: str
    idioms: str
    paths: tuple[str, ...]
    dists: tuple[Dist, ...] = field(default_factory=tuple)


def cache_root() -> Path:
    env = os.environ.get("BACKEND_REVIEW_ECOSYSTEM_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "backend-review-ecosystem"


def load(path: Path = PROJECTS_FILE) -> list[Project]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise EcosystemError(f"{path}: {exc}") from None
    out, seen = [], set()
    for i, raw in enumerate(data.get("project", []), 1):
        where = f"{path}: project #{i}"
        try:
            name, half = raw["name"], raw["half"]
            dists = tuple(Dist(d["spec"], d["file"], d["sha256"].lower())
                          for d in raw["dists"])
            project = Project(name, half, raw.get("idioms", ""), tuple(raw.get("paths", ["."])), dists)
        except (KeyError, TypeError, AttributeError) as exc:
            raise EcosystemError(f"{where}: missing or malformed key {exc}") from None
        if half not in HALVES:
            raise EcosystemError(f"{where} ({name}): half must be one of {', '.join(HALVES)}, not {half!r}")
        if name in seen:
            raise EcosystemError(f"{where}: project {name!r} listed twice")
        if not dists or any(len(d.sha256) != 64 for d in dists):
            raise EcosystemError(f"{where} ({name}): every project needs dists with a 64-hex-digit sha256")
        for rel in project.paths:
            # each entry is one folder or file, taken literally: no shell braces or globs
            if not rel or rel.startswith("/") or ".." in Path(rel).parts or any(c in rel for c in "{}*?[],"):
                raise EcosystemError(f"{where} ({name}): paths entry {rel!r} must be one relative path "
                                     "inside the unpacked dists (list several entries, no braces or globs)")
        seen.add(name)
        out.append(project)
    return out


def select(projects: list[Project], names: list[str] | None, half: str | None) -> list[Project]:
    known = {p.name for p in projects}
    unknown = [n for n in names or [] if n not in known]
    if unknown:
        raise EcosystemError(f"unknown project {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return [p for p in projects if (not names or p.name in names) and (not half or p.half == half)]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(dist: Dist, dl: Path, log=print) -> Path:
    """The dist's file in dl/, fetched from the index when absent; its hash is checked every time."""
    target = dl / dist.file
    if not target.is_file():
        dl.mkdir(parents=True, exist_ok=True)
        log(f"downloading {dist.spec}")
        fetch(dist, target)
    actual = sha256(target)
    if actual != dist.sha256:
        raise EcosystemError(f"{target}: sha256 {actual} does not match projects.toml ({dist.sha256}); "
                             "delete the file to fetch it again, or fix the pin")
    return target


def fetch(dist: Dist, target: Path, index: str | None = None) -> None:
    """The pinned file, copied from the index's JSON simple API. Not `pip download`: the pin
    already names the file, and pip would build an sdist's metadata (running the project's own
    build code) and refuses old wheels whose metadata newer pips reject (shuup 3.1.0). Written
    under a temporary name and renamed, so an interrupted fetch leaves nothing complete-looking."""
    index = index or os.environ.get("BACKEND_REVIEW_ECOSYSTEM_INDEX", "https://pypi.org/simple/")
    name = dist.spec.split("==")[0].strip().lower().replace("_", "-").replace(".", "-")
    page = f"{index.rstrip('/')}/{name}/"
    try:
        req = urllib.request.Request(page, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            files = json.load(resp)["files"]
        url = next((f["url"] for f in files if f["filename"] == dist.file), None)
        if url is None:
            raise EcosystemError(f"{page}: no file {dist.file}")
        url = urllib.parse.urljoin(page, url)
        part = target.with_name(target.name + ".part")
        with urllib.request.urlopen(url, timeout=120) as resp, part.open("wb") as out:
            shutil.copyfileobj(resp, out)
        part.replace(target)
    except (OSError, ValueError, KeyError) as exc:
        raise EcosystemError(f"download of {dist.file} from {page} failed: {exc}") from None


def unpack(archive: Path, dest: Path) -> None:
    """Unpack a wheel (or an sdist .tar.gz) into dest, leaving out *.dist-info (metadata, not code)."""
    if archive.name.endswith(".tar.gz"):
        with tarfile.open(archive) as tf:
            # the "data" filter refuses members that would land outside dest, links and devices
            try:
                tf.extractall(dest, filter="data")
            except tarfile.FilterError as exc:
                raise EcosystemError(f"{archive}: {exc}") from None
        return
    with zipfile.ZipFile(archive) as zf:
        for member in zf.infolist():
            top = member.filename.split("/", 1)[0]
            if top.endswith(".dist-info"):
                continue
            out = (dest / member.filename).resolve()
            if dest.resolve() not in out.parents and out != dest.resolve():
                raise EcosystemError(f"{archive}: member {member.filename!r} would land outside {dest}")
            zf.extract(member, dest)


def prepare(project: Project, root: Path, log=print) -> Path:
    """src/<project>/, unpacked from verified dists; re-unpacked when the pins change."""
    files = [download(d, root / "dl", log) for d in project.dists]
    src = root / "src" / project.name
    stamp = root / "src" / f"{project.name}.unpacked"
    want = json.dumps(sorted(d.sha256 for d in project.dists))
    have = stamp.read_text() if stamp.is_file() else None
    if src.is_dir() and have is None:
        # unpacked by hand before the stamp existed (the dists are verified above): adopt it
        stamp.write_text(want)
    elif not src.is_dir() or have != want:
        log(f"unpacking {project.name}")
        shutil.rmtree(src, ignore_errors=True)
        tmp = src.with_name(src.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for f in files:
            unpack(f, tmp)
        tmp.rename(src)
        stamp.write_text(want)
    for rel in project.paths:
        if not (src / rel).exists():
            raise EcosystemError(f"{project.name}: scan path {rel} does not exist in {src}")
    return src
