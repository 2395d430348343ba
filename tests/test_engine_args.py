"""What the runner asks of Semgrep beyond its fixed flags: data-flow traces for the evidence,
and no per-file cap on rules that time out (by default Semgrep skips a file's remaining
rules after three time out there, so a large file's findings would depend on the load)."""
import json
import sys
from pathlib import Path

REAL = Path(sys.executable).parent / "semgrep"


def test_the_engine_runs_every_rule_on_a_file_whatever_times_out(cli, write_tree, tmp_path):
    log = tmp_path / "args.json"
    wrapper = tmp_path / "semgrep"
    wrapper.write_text("#!" + sys.executable + "\nimport json, os, sys\n"
                       f"json.dump(sys.argv[1:], open({str(log)!r}, 'w'))\n"
                       f"os.execv({str(REAL)!r}, [{str(REAL)!r}] + sys.argv[1:])\n")
    wrapper.chmod(0o755)
    root = write_tree({"a.py": "import requests\nrequests.get('https://example.com')\n"})
    proc = cli("scan", ".", "--format", "json", "--no-cache", "--fail-on", "never", cwd=root,
               env={"BACKEND_REVIEW_SEMGREP": str(wrapper)})
    assert proc.returncode == 0, proc.stderr
    args = json.loads(log.read_text())
    assert args[args.index("--timeout-threshold") + 1] == "0"
    assert "--dataflow-traces" in args
    assert json.loads(proc.stdout)["findings"], "the scan still runs through the wrapper"
