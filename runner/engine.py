"""The Semgrep subprocess and its failure modes.

The engine step gets a merged rule config and an explicit list of target files, runs
Semgrep once, and returns what it produced. It never raises on a bad run: a crash,
a timeout or garbage output becomes `EngineRun.failure`, with every result Semgrep did
produce kept, so the reporters can still write a truthful output.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

# Never talk to the network, never wait on a version check, keep our rule ids as written.
FIXED_FLAGS = ("--metrics=off", "--disable-version-check", "--no-rewrite-rule-ids",
               "--json", "--quiet", "--disable-nosem", "--no-git-ignore")
ENV_OVERRIDE = "BACKEND_REVIEW_SEMGREP"


class EngineNotFound(Exception):
    pass


class RuleRejected(Exception):
    """Semgrep refused a rule; the message names the rule."""


@dataclass
class EngineRun:
    results: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)  # per-file problems: parse errors, timeouts
    version: str = ""
    failure: str | None = None  # set when the engine itself failed
    command: list[str] = field(default_factory=list)
    exit_code: int | None = None
    document: bool = False  # semgrep printed a result document (a JSON object with a results list)


def semgrep_executable() -> str:
    """The semgrep installed beside this interpreter (a PATH shim may obey a
    `.python-version` in the scanned repo); `BACKEND_REVIEW_SEMGREP` overrides it."""
    override = os.environ.get(ENV_OVERRIDE)
    if override:
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise EngineNotFound(f"semgrep not found: {ENV_OVERRIDE}={override} is not an executable file")
        return override
    beside = Path(sys.executable).parent / "semgrep"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("semgrep")
    if found:
        return found
    raise EngineNotFound("semgrep not found beside the runner's Python or on PATH "
                         "(backend-review depends on semgrep 1.185: reinstall it from its repository, or "
                         "`pip install 'semgrep>=1.185,<1.186'` into the same environment)")


def version(executable: str | None = None) -> str:
    exe = executable or semgrep_executable()
    proc = subprocess.run([exe, "--version", "--disable-version-check"], capture_output=True,
                          text=True, timeout=120, env=_engine_env())
    if proc.returncode != 0:
        raise EngineNotFound(f"semgrep at {exe} does not run: {proc.stderr.strip()[:200]}")
    return proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""


def _engine_env() -> dict:
    env = dict(os.environ)
    env["SEMGREP_SEND_METRICS"] = "off"
    env["SEMGREP_ENABLE_VERSION_CHECK"] = "0"
    env.pop("SEMGREP_APP_TOKEN", None)  # never let a token switch on a registry/app round trip
    return env


def write_config(path: Path, config: dict) -> None:
    """The merged config as JSON: JSON is YAML to semgrep, and its CLI loads the default pack
    as JSON in about 0.5 s against about 6 s as YAML (it reads YAML with position tracking)."""
    path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")


def run(config: dict, targets: list[str], *, cwd: Path, jobs: int | None = None,
        file_timeout: int = 30, run_timeout: int | None = None, max_target_bytes: int = 0,
        extra_args: tuple[str, ...] = ()) -> EngineRun:
    """Run semgrep over `targets` (paths relative to `cwd`)."""
    exe = semgrep_executable()
    out = EngineRun()
    with tempfile.TemporaryDirectory(prefix="backend-review-") as tmp:
        pack = Path(tmp) / "pack.json"
        write_config(pack, config)
        cmd = [exe, "scan", *FIXED_FLAGS, "--config", str(pack), "--timeout", str(file_timeout),
               "--max-target-bytes", str(max_target_bytes), *extra_args]
        if jobs:
            cmd += ["--jobs", str(jobs)]
        out.command = [*cmd, f"<{len(targets)} targets>"]
        stdout_path = Path(tmp) / "stdout.json"
        with open(stdout_path, "wb") as stdout, open(Path(tmp) / "stderr", "wb") as stderr:
            # Start a new session so a timeout can kill semgrep and its worker processes.
            try:
                proc = subprocess.Popen([*cmd, "--", *targets], cwd=cwd, stdout=stdout, stderr=stderr,
                                        stdin=subprocess.DEVNULL, env=_engine_env(), start_new_session=True)
            except OSError as exc:
                raise EngineNotFound(f"semgrep at {exe} cannot be started: {exc.strerror}") from None
            try:
                out.exit_code = proc.wait(timeout=run_timeout)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                out.exit_code = proc.wait()
                out.failure = f"semgrep did not finish within {run_timeout} s and was stopped"
            except BaseException:
                # Ctrl-C or SIGTERM (raised by the CLI): semgrep runs in its own session, so
                # it would outlive us; stop it before the temporary folder is removed.
                _kill_group(proc)
                proc.wait()
                raise
        stderr_text = (Path(tmp) / "stderr").read_text(errors="replace")
        raw = stdout_path.read_bytes()
    _parse(raw, out)
    if out.failure is None:
        out.failure = _judge(out, stderr_text)
    return out


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _parse(raw: bytes, out: EngineRun) -> None:
    """Keep what a result document holds; `_judge` decides what a missing one means."""
    if not raw.strip():
        return
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        out.failure = "semgrep printed output that is not valid JSON"
        return
    if not (isinstance(doc, dict) and isinstance(doc.get("results"), list)
            and isinstance(doc.get("errors", []), list)):
        out.failure = "semgrep printed JSON that is not a result document (no results list)"
        return
    out.document = True
    out.results = [r for r in doc["results"] if isinstance(r, dict)]
    out.errors = [e for e in doc.get("errors", []) if isinstance(e, dict)]
    out.version = str(doc.get("version", ""))


def _judge(out: EngineRun, stderr_text: str) -> str | None:
    """None when semgrep ran to completion; otherwise what went wrong, in one line."""
    code = out.exit_code
    for err in out.errors:
        if "Rule" in str(err.get("type", "")) or err.get("rule_id") and not err.get("path"):
            rid = err.get("rule_id") or _rule_from_message(err)
            msg = " ".join(str(err.get("message", "")).split())[:300]
            raise RuleRejected(f"semgrep rejected rule {rid or '(unknown)'}: {msg}")
    if code is not None and code < 0:
        return f"semgrep was killed by signal {signal.Signals(-code).name}"
    if code not in (0, 1):
        fatal = [e for e in out.errors if e.get("level") == "error" and not e.get("path")]
        detail = (" ".join(str(fatal[0].get("message", "")).split()) if fatal
                  else _last_line(stderr_text)) or "no message"
        return f"semgrep exited with code {code}: {detail[:300]}"
    if not out.document:
        # Whatever the exit code: no result document means nothing was checked. Reading
        # it as "no findings" would pass the gate and, uploaded, close every open alert.
        detail = _last_line(stderr_text)
        return (f"semgrep exited with code {code} without printing a result document"
                + (f": {detail[:300]}" if detail else " (no output at all)"))
    return None


def _rule_from_message(err: dict) -> str:
    spans = err.get("spans") or []
    return spans[0].get("file", "") if spans and isinstance(spans[0], dict) else ""


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""
