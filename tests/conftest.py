import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
DEMO = ROOT / "fixtures" / "apps" / "orders-service"


def run_cli(*args, cwd=None, env=None, timeout=600):
    """Run the real `backend-review` command, as a user would."""
    full_env = dict(os.environ)
    full_env.pop("NO_COLOR", None)
    full_env.update(env or {})
    return subprocess.run([str(BIN / "backend-review"), *map(str, args)], cwd=cwd or ROOT,
                          capture_output=True, text=True, env=full_env, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli


def rule_findings(tree, *rules) -> list[tuple[str, str, int]]:
    """Scan `tree` (uncached) with only `rules`: each finding's (rule, path, start line)."""
    proc = run_cli("scan", tree, *[a for r in rules for a in ("--rule", r)], "--format", "json",
                   "--fail-on", "never", "--no-cache", cwd=tree)
    assert proc.returncode == 0, proc.stderr
    return [(f["rule"], f["evidence"]["path"], f["evidence"]["start_line"]) for f in json.loads(proc.stdout)["findings"]]


@pytest.fixture(scope="session")
def demo_sarif(tmp_path_factory):
    """One full SARIF scan of the bundled demo service, shared by the SARIF tests."""
    out = tmp_path_factory.mktemp("demo") / "demo.sarif"
    proc = run_cli("scan", "fixtures/apps/orders-service", "--format", "sarif", "-o", out, "--fail-on", "never")
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture
def write_tree(tmp_path):
    """Write {relative path: text} under tmp_path and return tmp_path."""
    def write(files: dict) -> Path:
        for rel, text in files.items():
            p = tmp_path / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(text, bytes):
                p.write_bytes(text)
            else:
                p.write_text(text)
        return tmp_path
    return write


@pytest.fixture(autouse=True)
def _deny_network(monkeypatch):
    """No test may open a network connection from this process (subprocesses run
    under `unshare --net` when `make test` can create a network namespace)."""
    import socket

    real_connect = socket.socket.connect

    def guarded(self, address):
        if self.family == socket.AF_UNIX:
            return real_connect(self, address)
        raise RuntimeError(f"network access attempted in a test: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket, "create_connection",
                        lambda *a, **k: (_ for _ in ()).throw(RuntimeError(f"network access attempted: {a!r}")))
