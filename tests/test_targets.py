"""Paths and exclusions behave like ruff and Semgrep (gitignore-like patterns; files named
on the command line honour the excludes unless --no-force-exclude)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend_review.targets import Exclude, excluded

BUG = "import requests\n\ndef fetch(url):\n    return requests.get(url)\n"
RULE = "resilience.python.requests-without-timeout"
ROOT = Path("/repo")


@pytest.mark.parametrize("pattern, path, expected", [
    ("orders/services/", "orders/services/refunds.py", True),
    ("orders/services/", "orders/services/deep/x.py", True),
    ("orders/services/", "lib/orders/services/x.py", False),  # anchored: a slash before the end
    ("orders/services/", "orders/services.py", False),
    ("app/migrations/", "app/migrations/0001_initial.py", True),
    ("app/migrations", "app/migrations/0001_initial.py", True),  # a folder path without the slash too
    ("migrations/", "app/migrations/0001.py", True),  # name/ matches at any depth
    ("migrations/", "migrations.py", False),  # ... only folders
    ("**/migrations/", "migrations/0001.py", True),
    ("/app", "lib/app/x.py", False),
    ("./app", "lib/app/x.py", False),  # `./` anchors like a leading `/`
    ("./app", "app/x.py", True),
    ("app", "lib/app/x.py", True),
    ("*.min.js", "static/a.min.js", True),
    ("tests/", "src/tests/test_a.py", True),
    ("tests/", "tests.py", False),
    ("src/*_pb2.py", "src/api/x_pb2.py", True),  # fnmatch: `*` spans folders
])
def test_gitignore_like_patterns(pattern, path, expected):
    assert excluded(path, [pattern], ROOT) is expected


def test_anchored_pattern_is_relative_to_its_base():
    config_dir = ROOT
    scan_root = ROOT / "app"  # e.g. `cd app && backend-review scan .`
    pat = Exclude("app/migrations/", config_dir)
    assert excluded("migrations/0001.py", [pat], scan_root)
    assert not excluded("migrations/0001.py", [Exclude("app/migrations/", scan_root)], scan_root)
    assert not excluded("migrations/0001.py", [Exclude("app/migrations/", ROOT / "elsewhere")], scan_root)


def paths_found(proc) -> list[tuple]:
    assert proc.returncode in (0, 1), proc.stderr
    return sorted((f["rule"], f["evidence"]["path"], f["evidence"]["start_line"])
                  for f in json.loads(proc.stdout)["findings"])


LAYOUT = {"orders/services/refunds.py": BUG, "orders/api.py": BUG, "app/legacy/0001.py": BUG,
          "app/views.py": BUG, "lib/orders/services/keep.py": BUG}
SCAN = ("scan", "--format", "json", "--no-cache", "--area", "resilience")


def test_exclude_flag_with_a_folder_path(cli, write_tree):
    root = write_tree(LAYOUT)
    proc = cli(*SCAN, "--exclude", "orders/services/", "--exclude", "app/legacy/", cwd=root)
    assert paths_found(proc) == [(RULE, "app/views.py", 4), (RULE, "lib/orders/services/keep.py", 4),
                                 (RULE, "orders/api.py", 4)]
    assert "matched nothing" not in proc.stderr


def test_config_folder_patterns_are_anchored_at_the_config(cli, write_tree):
    root = write_tree({**LAYOUT, ".backend-review.yml": "extend-exclude: ['app/legacy/', 'orders/services/']\n"})
    proc = cli(*SCAN, "app", cwd=root)
    assert paths_found(proc) == [(RULE, "app/views.py", 4)]
    # From a subfolder the scan root is `app`, the pattern still means <config dir>/app/migrations.
    proc = cli(*SCAN, ".", cwd=root / "app")
    assert paths_found(proc) == [(RULE, "views.py", 4)]


def test_unused_exclude_pattern_is_a_warning(cli, write_tree):
    root = write_tree({**LAYOUT, ".backend-review.yml": "extend-exclude: ['app/legac/']\n"})
    proc = cli(*SCAN, "--exclude", "nothing-here/", cwd=root)
    assert (RULE, "app/legacy/0001.py", 4) in paths_found(proc)
    assert (f"backend-review: warning: exclude pattern 'app/legac/' ({root / '.backend-review.yml'}: "
            "extend-exclude) matched nothing") in proc.stderr.splitlines()
    assert "backend-review: warning: exclude pattern 'nothing-here/' (--exclude) matched nothing" \
        in proc.stderr.splitlines()


def test_files_named_explicitly_honour_excludes(cli, write_tree):
    """pre-commit passes staged files by name: the default and configured excludes apply."""
    root = write_tree({**LAYOUT, "tests/test_api.py": BUG,
                       ".backend-review.yml": "extend-exclude: ['app/legacy/']\n"})
    proc = cli(*SCAN, "app/views.py", "app/legacy/0001.py", "tests/test_api.py", cwd=root)
    assert paths_found(proc) == [(RULE, "app/views.py", 4)]
    assert ("backend-review: note: not scanned, excluded although named: app/legacy/0001.py (app/legacy/), "
            "tests/test_api.py (tests/); --no-force-exclude scans them") in proc.stderr.splitlines()
    forced = cli(*SCAN, "--no-force-exclude", "app/legacy/0001.py", "tests/test_api.py", cwd=root)
    # both are scanned; the project model drops the finding in test code (not deployed)
    assert paths_found(forced) == [(RULE, "app/legacy/0001.py", 4)]
    assert json.loads(forced.stdout)["scan"]["files_scanned"] == 2


def test_only_excluded_files_named_is_a_clean_empty_scan(cli, write_tree):
    """A commit that touches only test files must not fail the pre-commit hook."""
    root = write_tree({"tests/test_api.py": BUG})
    proc = cli(*SCAN, "tests/test_api.py", cwd=root)
    assert proc.returncode == 0 and json.loads(proc.stdout)["findings"] == []
    assert "excluded although named: tests/test_api.py (tests/)" in proc.stderr


def test_config_can_turn_force_exclude_off(cli, write_tree):
    root = write_tree({"tests/test_api.py": BUG, ".backend-review.yml": "force-exclude: false\n"})
    proc = cli(*SCAN, "tests/test_api.py", cwd=root)
    assert json.loads(proc.stdout)["scan"]["files_scanned"] == 1  # scanned (its finding is test code: off)
    # the flag wins over the config
    proc = cli(*SCAN, "--force-exclude", "tests/test_api.py", cwd=root)
    assert proc.returncode == 0 and json.loads(proc.stdout)["scan"]["files_scanned"] == 0


def test_excluded_folder_named_explicitly(cli, write_tree):
    root = write_tree({"tests/test_api.py": BUG, "tests/helpers/h.py": BUG})
    proc = cli(*SCAN, "tests", cwd=root)
    assert proc.returncode == 2 and "--no-force-exclude scans named paths anyway" in proc.stderr
    proc = cli(*SCAN, "--no-force-exclude", "tests", cwd=root)
    assert json.loads(proc.stdout)["scan"]["files_scanned"] == 2
    # named as the project, tests/ is judged from inside: only test_*.py names are test code there
    assert paths_found(proc) == [(RULE, "tests/helpers/h.py", 4)]
