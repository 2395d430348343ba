"""Per-file result cache.

An entry holds what the engine said about one file. Its key is
the hash of: the file's path and content, the effective rule set (the exact merged
config the engine would get), the engine's identity (version, executable size and
mtime) and every option that changes results. Any change to any of them is a miss;
that is the one property that matters, since a wrong hit hides a finding.

Entries are written atomically (temp file + rename), so two scans may share the
folder; a corrupt entry is discarded with a warning; the folder is trimmed to a size
bound, least recently used first; no cache problem ever fails a scan.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from importlib import metadata
from pathlib import Path

FORMAT = "backend-review-cache-v1"
DEFAULT_MAX_BYTES = 256 * 1024 * 1024


def _warn(message: str) -> None:
    sys.stderr.write(f"backend-review: warning: {message}\n")


def engine_identity(executable: str) -> str:
    try:
        st = os.stat(executable)
        stamp = f"{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        stamp = "?"
    return f"{executable}|{stamp}|{engine_version() or '?'}"


def engine_version() -> str:
    try:
        return metadata.version("semgrep")
    except metadata.PackageNotFoundError:
        return ""


def ruleset_key(engine_config: dict, engine_id: str, options: dict) -> str:
    payload = json.dumps({"format": FORMAT, "config": engine_config, "engine": engine_id, "options": options},
                         sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


class Cache:
    def __init__(self, directory: Path, key: str, max_bytes: int = DEFAULT_MAX_BYTES):
        self.dir = directory
        self.key = key
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self.usable = True
        try:
            (directory / "entries").mkdir(parents=True, exist_ok=True)
            tag = directory / "CACHEDIR.TAG"
            if not tag.exists():
                tag.write_text("Signature: 8a477f597d28d172789f06886806bc55\n"
                               "# backend-review result cache; safe to delete.\n")
            gitignore = directory / ".gitignore"
            if not gitignore.exists():
                gitignore.write_text("*\n")
        except OSError as exc:
            _warn(f"result cache disabled: cannot use {directory}: {exc.strerror or exc}")
            self.usable = False

    def _entry(self, path: str, content: bytes) -> Path:
        h = hashlib.sha256()
        for part in (self.key.encode(), path.encode("utf-8", "surrogateescape"), content):
            h.update(hashlib.sha256(part).digest())
        digest = h.hexdigest()
        return self.dir / "entries" / digest[:2] / f"{digest}.json"

    def get(self, path: str, content: bytes) -> dict | None:
        if not self.usable:
            return None
        entry = self._entry(path, content)
        try:
            doc = json.loads(entry.read_text(encoding="utf-8"))
            if doc.get("format") != FORMAT or doc.get("path") != path:
                raise ValueError("unexpected entry")
            value = {"results": list(doc["results"]), "errors": list(doc["errors"]), "syntax": list(doc["syntax"])}
        except FileNotFoundError:
            self.misses += 1
            return None
        except (OSError, ValueError, KeyError, TypeError):
            _warn(f"discarded a corrupt cache entry {entry.name}")
            entry.unlink(missing_ok=True)
            self.misses += 1
            return None
        try:
            os.utime(entry)  # recently used: trimmed last
        except OSError:
            pass
        self.hits += 1
        return value

    def put(self, path: str, content: bytes, results: list, errors: list, syntax: list) -> None:
        if not self.usable:
            return
        entry = self._entry(path, content)
        doc = {"format": FORMAT, "path": path, "results": results, "errors": errors, "syntax": syntax}
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".tmp-")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, ensure_ascii=False)
            os.replace(tmp, entry)
        except OSError as exc:
            _warn(f"result cache not updated: {exc.strerror or exc}")
            self.usable = False

    def trim(self) -> None:
        """Keep the folder under max_bytes, dropping least recently used entries."""
        if not self.usable:
            return
        try:
            files = [(p.stat().st_mtime, p.stat().st_size, p) for p in (self.dir / "entries").rglob("*.json")]
        except OSError:
            return
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.max_bytes:
                break
            try:
                path.unlink()
                total -= size
            except OSError:
                pass
