"""The result cache hits and misses exactly when it should; shards partition the
targets; merging shard SARIF equals one full scan."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUG = "import requests\n\ndef fetch(url):\n    return requests.get(url)\n"
REAL = Path(sys.executable).parent / "semgrep"


@pytest.fixture
def recorder(tmp_path):
    """A semgrep wrapper that logs the targets each run receives, then runs the real one."""
    log = tmp_path / "targets.log"
    wrapper = tmp_path / "semgrep-recorder"
    wrapper.write_text(f"#!{sys.executable}\nimport os, sys\n"
                       "args = sys.argv[1:]\n"
                       "if '--' in args:\n"
                       f"    open({str(log)!r}, 'a').write(' '.join(sorted(args[args.index('--') + 1:])) + '\\n')\n"
                       f"os.execv({str(REAL)!r}, [{str(REAL)!r}] + args)\n")
    wrapper.chmod(0o755)

    def runs() -> list[list[str]]:
        return [ln.split() for ln in log.read_text().splitlines()] if log.exists() else []
    return wrapper, runs


def scan(cli, root, wrapper, *extra):
    proc = cli("scan", ".", "--area", "resilience", "--format", "json", "--fail-on", "never", *extra, cwd=root,
               env={"BACKEND_REVIEW_SEMGREP": str(wrapper)})
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    return sorted((f["evidence"]["path"], f["evidence"]["start_line"]) for f in doc["findings"]), proc


def test_cache_hits_and_misses_exactly(cli, write_tree, recorder):
    wrapper, runs = recorder
    root = write_tree({"a.py": BUG, "b.py": BUG, "c.py": "x = 1\n"})
    cold, _ = scan(cli, root, wrapper)
    assert runs()[-1] == ["a.py", "b.py", "c.py"]
    warm, _ = scan(cli, root, wrapper)
    assert warm == cold and len(runs()) == 1, "an unchanged tree needs no engine run"
    # change one file: only it is scanned, and its new finding is seen
    (root / "c.py").write_text(BUG)
    changed, _ = scan(cli, root, wrapper)
    assert runs()[-1] == ["c.py"] and ("c.py", 4) in changed
    # delete a file: it drops out of the results without a scan
    (root / "b.py").unlink()
    after_delete, _ = scan(cli, root, wrapper)
    assert after_delete == [("a.py", 4), ("c.py", 4)] and len(runs()) == 2
    # a change in the rule set misses everything
    scan(cli, root, wrapper, "--rule", "resilience.python.requests-without-timeout")
    assert runs()[-1] == ["a.py", "c.py"]


def test_cache_misses_when_options_or_engine_change(cli, write_tree, recorder):
    wrapper, runs = recorder
    root = write_tree({"a.py": BUG})
    scan(cli, root, wrapper)
    (root / ".backend-review.yml").write_text("timeout: 7\n")
    scan(cli, root, wrapper)
    assert len(runs()) == 2, "a result-changing option must miss"
    scan(cli, root, wrapper)
    assert len(runs()) == 2
    stat = wrapper.stat()
    os.utime(wrapper, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000_000))  # "a new engine"
    scan(cli, root, wrapper)
    assert len(runs()) == 3, "a different engine must miss"


def test_corrupt_cache_is_discarded_with_a_warning(cli, write_tree, recorder):
    wrapper, runs = recorder
    root = write_tree({"a.py": BUG})
    first, _ = scan(cli, root, wrapper)
    for entry in (root / ".backend-review-cache" / "entries").rglob("*.json"):
        entry.write_text("{not json")
    again, proc = scan(cli, root, wrapper)
    assert again == first and len(runs()) == 2
    assert "discarded a corrupt cache entry" in proc.stderr


def test_unwritable_cache_never_fails_the_scan(cli, write_tree, recorder, tmp_path):
    wrapper, _ = recorder
    root = write_tree({"a.py": BUG})
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("file in the way")
    found, proc = scan(cli, root, wrapper, "--cache-dir", blocker)
    assert found == [("a.py", 4)] and "result cache disabled" in proc.stderr


def test_no_cache_writes_nothing(cli, write_tree, recorder):
    wrapper, runs = recorder
    root = write_tree({"a.py": BUG})
    scan(cli, root, wrapper, "--no-cache")
    scan(cli, root, wrapper, "--no-cache")
    assert len(runs()) == 2 and not (root / ".backend-review-cache").exists()


def test_two_scans_at_once_share_the_cache(write_tree, recorder):
    wrapper, _ = recorder
    root = write_tree({f"m{i}.py": BUG for i in range(6)})
    exe = Path(sys.executable).parent / "backend-review"
    env = {**os.environ, "BACKEND_REVIEW_SEMGREP": str(wrapper)}
    procs = [subprocess.Popen([str(exe), "scan", ".", "--area", "resilience", "--format", "json", "--fail-on", "never"],
                              cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    assert all(len(json.loads(o[0])["findings"]) == 6 for o in outs)


def test_shards_partition_the_targets():
    from backend_review.targets import shard
    files = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "runner").rglob("*.py"))
    parts = [shard(ROOT, files, k, 3) for k in (1, 2, 3)]
    flat = [f for p in parts for f in p]
    assert sorted(flat) == files and len(flat) == len(set(flat))
    sizes = [sum((ROOT / f).stat().st_size for f in p) for p in parts]
    assert max(sizes) - min(sizes) <= max((ROOT / f).stat().st_size for f in files)
    assert parts == [shard(ROOT, list(reversed(files)), k, 3) for k in (1, 2, 3)], "order-independent"


def test_merged_shards_equal_a_full_scan(cli, tmp_path):
    full = tmp_path / "full.sarif"
    cli("scan", "fixtures/apps/orders-service", "--format", "sarif", "-o", full, "--fail-on", "never", "--no-cache")
    shards = []
    for k in (1, 2, 3):
        out = tmp_path / f"s{k}.sarif"
        proc = cli("scan", "fixtures/apps/orders-service", "--format", "sarif", "-o", out, "--fail-on", "never",
                   "--shard", f"{k}/3", "--no-cache")
        assert proc.returncode == 0, proc.stderr
        shards.append(out)
    merged = tmp_path / "merged.sarif"
    proc = cli("merge", *shards, "-o", merged)
    assert proc.returncode == 0, proc.stderr
    import jsonschema
    schema = json.loads((ROOT / "schemas" / "sarif-schema-2.1.0.json").read_text())
    m, f = json.loads(merged.read_text()), json.loads(full.read_text())
    assert not list(jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER).iter_errors(m))
    assert m["runs"][0]["results"] == f["runs"][0]["results"]
    assert m["runs"][0]["tool"]["driver"]["rules"] == f["runs"][0]["tool"]["driver"]["rules"]
    assert m["runs"][0]["invocations"][0]["properties"]["filesScanned"] == \
        f["runs"][0]["invocations"][0]["properties"]["filesScanned"]


def test_merge_rejects_foreign_input(cli, tmp_path):
    (tmp_path / "x.sarif").write_text(json.dumps({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "other"}}}]}))
    proc = cli("merge", tmp_path / "x.sarif")
    assert proc.returncode == 2 and "not written by backend-review" in proc.stderr


@pytest.mark.parametrize("body", ["[]", '{"version": "2.1.0", "runs": [[]]}', '{"version": "2.1.0", "runs": [{"tool": 1}]}'])
def test_merge_rejects_malformed_sarif_with_one_line(cli, tmp_path, body):
    (tmp_path / "x.sarif").write_text(body)
    proc = cli("merge", tmp_path / "x.sarif", "-o", tmp_path / "out.sarif")
    assert proc.returncode == 2 and "x.sarif" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out.sarif").exists()


def test_bad_shard_spec_is_exit_2(cli, write_tree):
    root = write_tree({"a.py": BUG})
    proc = cli("scan", ".", "--shard", "4/3", cwd=root)
    assert proc.returncode == 2 and "--shard" in proc.stderr
