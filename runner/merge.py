"""Merge the SARIF files of several shards into one run, as one full scan would write it."""
from __future__ import annotations

import json
from pathlib import Path

from backend_review import output

SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


class MergeError(Exception):
    pass


def _load(path: Path) -> dict:
    doc = output.read_json(path, "SARIF", MergeError)
    runs = doc.get("runs") if isinstance(doc, dict) else None
    if not isinstance(runs, list) or doc.get("version") != "2.1.0" or len(runs) != 1 or not isinstance(runs[0], dict):
        raise MergeError(f"{path}: expected SARIF 2.1.0 with exactly one run")
    tool = runs[0].get("tool")
    driver = tool.get("driver") if isinstance(tool, dict) else None
    if not isinstance(driver, dict) or driver.get("name") != "backend-review":
        raise MergeError(f"{path}: not written by backend-review")
    return doc


def _result_key(result: dict) -> tuple:
    """The order a single scan writes: severity, path, line, column, rule."""
    loc = result["locations"][0]["physicalLocation"]
    region = loc.get("region", {})
    return (SEVERITY_ORDER.get(result.get("properties", {}).get("severity"), 9), loc["artifactLocation"]["uri"],
            region.get("startLine", 0), region.get("startColumn", 0), result["ruleId"])


def merge(paths: list[Path]) -> dict:
    docs = [_load(p) for p in paths]
    runs = [d["runs"][0] for d in docs]
    first = runs[0]
    categories = {r.get("automationDetails", {}).get("id") for r in runs}
    if len(categories) > 1:
        raise MergeError(f"the files come from different categories: {', '.join(sorted(map(str, categories)))}")
    versions = {r["tool"]["driver"].get("version") for r in runs}
    if len(versions) > 1:
        raise MergeError(f"the files come from different backend-review versions: {', '.join(sorted(versions))}")
    rules: dict[str, dict] = {}
    for run in runs:
        for rule in run["tool"]["driver"].get("rules", []):
            rules.setdefault(rule["id"], rule)
    ordered = [rules[i] for i in sorted(rules)]
    index = {r["id"]: i for i, r in enumerate(ordered)}
    results = []
    for run in runs:
        for res in run.get("results", []):
            res = dict(res)
            res["ruleIndex"] = index[res["ruleId"]]
            results.append(res)
    results.sort(key=_result_key)
    invocations = [inv for run in runs for inv in run.get("invocations", [])]
    notes = [n for inv in invocations for n in inv.get("toolExecutionNotifications", [])]
    props = {"filesScanned": sum(inv.get("properties", {}).get("filesScanned", 0) for inv in invocations),
             "engine": invocations[0].get("properties", {}).get("engine", "") if invocations else "",
             "mergedFrom": len(runs)}
    failures = [inv["properties"]["failure"] for inv in invocations if inv.get("properties", {}).get("failure")]
    if failures:
        props["failure"] = "; ".join(failures)
    diff_bases = {inv.get("properties", {}).get("diffBase") for inv in invocations} - {None}
    if diff_bases:
        props["diffBase"] = sorted(diff_bases)[0]
    invocation = {"executionSuccessful": all(inv.get("executionSuccessful", False) for inv in invocations),
                  "properties": props}
    starts = [inv["startTimeUtc"] for inv in invocations if "startTimeUtc" in inv]
    ends = [inv["endTimeUtc"] for inv in invocations if "endTimeUtc" in inv]
    if starts:
        invocation["startTimeUtc"] = min(starts)
    if ends:
        invocation["endTimeUtc"] = max(ends)
    if notes:
        invocation["toolExecutionNotifications"] = sorted(notes, key=lambda n: json.dumps(n, sort_keys=True))
    run = dict(first)
    run["tool"] = {"driver": {**first["tool"]["driver"], "rules": ordered}}
    run["results"] = results
    run["invocations"] = [invocation]
    return {**docs[0], "runs": [run]}
