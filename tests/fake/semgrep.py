#!/usr/bin/env python3
"""A stand-in for semgrep that fails on purpose. FAKE_SEMGREP_MODE picks the fault.

It answers `--version`, then for `scan` reads the target list from argv (after `--`) and
prints one plausible result per target before failing the way the mode says.
"""
import json
import os
import signal
import sys
import time

mode = os.environ.get("FAKE_SEMGREP_MODE", "ok")
args = sys.argv[1:]
if "--version" in args:
    print("1.185.0")
    sys.exit(0)
targets = args[args.index("--") + 1:] if "--" in args else []
rule = "resilience.python.requests-without-timeout"
results = [{"check_id": rule, "path": t, "start": {"line": 2, "col": 1, "offset": 0},
            "end": {"line": 2, "col": 10, "offset": 9}, "extra": {"lines": "requires login", "metadata": {}}}
           for t in targets]
doc = {"version": "1.185.0", "results": results, "errors": [], "paths": {"scanned": targets}}

if mode == "ok":
    print(json.dumps(doc))
elif mode == "crash":
    sys.stderr.write("Traceback (most recent call last):\nRuntimeError: semgrep-core crashed\n")
    sys.exit(2)
elif mode == "error-code-with-results":
    doc["errors"].append({"code": 2, "level": "error", "type": "Fatal error", "message": "out of memory"})
    print(json.dumps(doc))
    sys.exit(2)
elif mode == "invalid-json":
    print('{"version": "1.185.0", "results": [')
elif mode == "exit1":  # a broken install that dies quietly
    sys.exit(1)
elif mode == "exit0-silent":
    sys.exit(0)
elif mode == "traceback-exit1":
    sys.stderr.write("Traceback (most recent call last):\nModuleNotFoundError: No module named 'semgrep'\n")
    sys.exit(1)
elif mode == "not-a-document":  # valid JSON, but no results list
    print(json.dumps({"version": "1.185.0"}))
elif mode == "hang":
    pidfile = os.environ.get("FAKE_SEMGREP_PIDFILE")
    if pidfile:  # tells a test the engine is running, and which process it is
        with open(pidfile + ".tmp", "w") as fh:
            fh.write(str(os.getpid()))
        os.replace(pidfile + ".tmp", pidfile)
    time.sleep(120)
elif mode == "signal":
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)
elif mode == "file-timeout":
    doc["errors"].append({"code": 3, "level": "warn", "type": "Timeout", "path": targets[0],
                          "message": f"Timeout when running {rule} on {targets[0]}"})
    doc["results"] = results[1:]
    print(json.dumps(doc))
elif mode == "parse-error":
    doc["errors"].append({"code": 3, "level": "warn", "type": ["PartialParsing", [{"path": targets[0], "start": {"line": 3, "col": 1}, "end": {"line": 3, "col": 5}}]],
                          "path": targets[0], "message": f"Syntax error at line {targets[0]}:3",
                          "spans": [{"file": targets[0], "start": {"line": 3, "col": 1}, "end": {"line": 3, "col": 5}}]})
    print(json.dumps(doc))
