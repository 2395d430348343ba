#!/usr/bin/env python3
"""Regenerate the parts of the docs that are copies of real output, so they cannot drift:

* README.md's `scan --help` block (between the `help:scan` markers)
* docs/samples/: the demo service scanned in every format (times normalised)
* docs/rules.md (the catalogue)

    .venv/bin/python scripts/update_docs.py          # rewrite
    .venv/bin/python scripts/update_docs.py --check  # exit 1 when anything is stale
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
DEMO = "fixtures/apps/orders-service"
SAMPLES = {"sarif": "demo.sarif", "json": "demo.json", "markdown": "demo.md", "text": "demo.txt"}
TIME = re.compile(r'("(?:startTimeUtc|endTimeUtc|started|ended)": )"[^"]*"')


def cli(*args: str) -> str:
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}
    env.pop("FORCE_COLOR", None)
    proc = subprocess.run([str(BIN / "backend-review"), *args], cwd=ROOT, capture_output=True, text=True, env=env)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"update_docs: backend-review {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def make_scan_block() -> str:
    """Run the Makefile's own `scan` recipe (output to a temp file) and show what it prints."""
    import shlex
    import tempfile
    recipe = re.search(r"^scan: .*\n(?:\t@.*\n)*\t(\$\(BIN\)/backend-review .*)$", (ROOT / "Makefile").read_text(), re.M)
    if not recipe:
        raise SystemExit("update_docs: cannot find the scan recipe in the Makefile")
    command = recipe.group(1)
    args = shlex.split(command.replace("$(BIN)/backend-review ", ""))
    with tempfile.TemporaryDirectory() as tmp:
        where = args[args.index("--output") + 1]
        args[args.index("--output") + 1] = str(Path(tmp) / "out.sarif")
        env = {**os.environ, "NO_COLOR": "1"}
        proc = subprocess.run([str(BIN / "backend-review"), *args, "--no-cache"], cwd=ROOT, capture_output=True,
                              text=True, env=env)
    printed = proc.stderr.replace(str(Path(tmp) / "out.sarif"), where)  # the path the recipe names
    return f"```text\n$ make scan\n{command.replace('$(BIN)', '.venv/bin')}\n{printed}```\n"


def expected() -> dict[Path, str]:
    from backend_review import catalogue
    from backend_review.rules import load_pack
    out: dict[Path, str] = {ROOT / "docs" / "rules.md": catalogue.render(load_pack(ROOT / "rules"))}
    readme = (ROOT / "README.md").read_text()
    block = "```text\n$ backend-review scan --help\n" + cli("scan", "--help") + "```\n"
    out[ROOT / "README.md"] = re.sub(r"(<!-- begin help:scan -->\n).*?(<!-- end help:scan -->)",
                                     lambda m: m.group(1) + block + m.group(2), readme, flags=re.S)
    out[ROOT / "README.md"] = re.sub(r"(<!-- begin make-scan -->\n).*?(<!-- end make-scan -->)",
                                     lambda m: m.group(1) + make_scan_block() + m.group(2), out[ROOT / "README.md"],
                                     flags=re.S)
    for fmt, name in SAMPLES.items():
        text = cli("scan", DEMO, "--format", fmt, "--fail-on", "never", "--no-cache")
        out[ROOT / "docs" / "samples" / name] = TIME.sub(r'\1"2026-01-01T00:00:00.00Z"', text)
    return out


def main(check: bool) -> int:
    stale = []
    for path, text in expected().items():
        current = path.read_text() if path.exists() else None
        if current != text:
            stale.append(path.relative_to(ROOT))
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    if stale:
        print(("stale: " if check else "updated: ") + ", ".join(map(str, stale)))
    return 1 if (stale and check) else 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv))
