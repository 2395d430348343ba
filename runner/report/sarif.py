"""SARIF 2.1.0 for GitHub code scanning and IDE SARIF viewers.

Built from sarif-om's classes and serialised by `to_json_dict`, which keeps every value
that is set (a `level` of "warning" included) and drops only None and the schema's
"unset" sentinel (-1 on indexes): sarif-om itself ships no serialiser.
"""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import attrs
import sarif_om as om

from backend_review import ruledocs
from backend_review.finding import Finding, ScanReport, Severity

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/backend-review/backend-review"
SRCROOT = "%SRCROOT%"
MAX_TAGS = 10  # GitHub keeps only 10 (and rejects more than 20)
PRECISION = {"high": "high", "medium": "medium", "low": "low"}
PROBLEM_SEVERITY = {Severity.CRITICAL: "error", Severity.HIGH: "error",
                    Severity.MEDIUM: "warning", Severity.LOW: "recommendation"}


def to_json_dict(obj):
    """Serialise sarif-om objects: schema property names, every set value kept."""
    if attrs.has(type(obj)):
        out = {}
        for f in attrs.fields(type(obj)):
            value = getattr(obj, f.name)
            if value is None or (value == -1 and f.default == -1):
                continue
            out[f.metadata.get("schema_property_name", f.name)] = to_json_dict(value)
        return out
    if isinstance(obj, dict):
        return {k: to_json_dict(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, (list, tuple)):
        return [to_json_dict(v) for v in obj]
    return obj


def artifact_uri(path: str) -> str:
    """A relative, percent-encoded URI reference (`my file#1.py` -> `my%20file%231.py`)."""
    return quote(path, safe="/")


def _tags(rule) -> list[str]:
    tags = [rule.area, rule.section]
    if rule.is_security:
        tags.append("security")
        tags += [f"external/cwe/cwe-{c.split(':')[0].split('-')[1]}" for c in rule.cwe]
        tags += [f"owasp-{o.split(' - ')[0].lower()}" for o in rule.owasp]
    tags += [f"confidence-{rule.confidence}"]
    tags += list(rule.technology)
    seen, out = set(), []
    for t in tags:
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out[:MAX_TAGS]


def _descriptor(rule) -> om.ReportingDescriptor:
    props = {"tags": _tags(rule), "precision": PRECISION[rule.confidence],
             "problem.severity": PROBLEM_SEVERITY[rule.severity],
             "severity": rule.severity.name.lower(), "section": rule.section, "area": rule.area}
    if rule.is_security:
        props["security-severity"] = rule.security_severity
    return om.ReportingDescriptor(
        id=rule.id,
        name="".join(w.capitalize() for w in rule.slug.split("-")),
        short_description=om.MultiformatMessageString(text=rule.title),
        full_description=om.MultiformatMessageString(text=ruledocs.full_description(rule)),
        help=om.MultiformatMessageString(text=ruledocs.text(rule), markdown=ruledocs.markdown(rule, 3)),
        help_uri=ruledocs.help_uri(rule),
        default_configuration=om.ReportingConfiguration(level=rule.severity.sarif_level),
        properties=props,
    )


def _region(f: Finding) -> om.Region:
    return om.Region(start_line=f.region.start_line, start_column=f.region.start_column,
                     end_line=f.region.end_line, end_column=f.region.end_column,
                     snippet=om.ArtifactContent(text=f.snippet))


def _location(path: str, region: om.Region, message: str | None = None) -> om.Location:
    return om.Location(
        physical_location=om.PhysicalLocation(
            artifact_location=om.ArtifactLocation(uri=artifact_uri(path), uri_base_id=SRCROOT),
            region=region),
        message=om.Message(text=message) if message else None)


def _code_flows(f: Finding) -> list[om.CodeFlow] | None:
    if not f.dataflow:
        return None
    steps = [om.ThreadFlowLocation(location=_location(
        s["path"], om.Region(start_line=s["line"], start_column=s["col"], end_line=s["end_line"],
                             end_column=s["end_col"]),
        f"{s['role']}: {s['code']}" if s["code"] else s["role"]), nesting_level=0, execution_order=i + 1)
        for i, s in enumerate(f.dataflow)]
    return [om.CodeFlow(thread_flows=[om.ThreadFlow(locations=steps)],
                        message=om.Message(text="Untrusted data flows from the source to the sink"))]


def _result(f: Finding, index: int, keep_suppression: bool) -> om.Result:
    props = {"severity": f.severity.name.lower(), "section": f.section, "confidence": f.confidence,
             "remediation": f.remediation}
    if f.context:
        props["context"] = f.context
        props["contextReason"] = f.context_reason
    if f.in_diff is not None:
        props["inDiff"] = f.in_diff
    fps = {"backendReview/v1": f.fingerprint}
    if f.line_hash:
        fps["primaryLocationLineHash"] = f.line_hash
    suppressions = None
    if keep_suppression and f.suppression:
        # sarif-om 1.0.4 names `status` "state" (a pre-release spelling): leave it unset.
        suppressions = [om.Suppression(kind=f.suppression.kind,
                                       justification=f.suppression.justification or None)]
    return om.Result(
        rule_id=f.rule_id, rule_index=index, level=f.severity.sarif_level, kind="fail",
        message=om.Message(text=f"{f.message} Remediation: {f.remediation}"),
        locations=[_location(f.path, _region(f))],
        partial_fingerprints=fps, code_flows=_code_flows(f), suppressions=suppressions,
        related_locations=[_location(r.path, om.Region(start_line=r.region.start_line, start_column=r.region.start_column,
                                                       end_line=r.region.end_line, end_column=r.region.end_column),
                                     r.message) for r in f.related] or None,
        properties=props)


def _notification(n) -> om.Notification:
    locations = None
    if n.path:
        region = om.Region(start_line=n.line) if n.line else None
        locations = [_location(n.path, region)]
    return om.Notification(level=n.level, message=om.Message(text=n.message), locations=locations,
                           descriptor=om.ReportingDescriptorReference(id=f"backend-review/{n.kind}"))


def build(report: ScanReport) -> om.SarifLog:
    rules = sorted(report.rules, key=lambda r: r.id)
    index = {r.id: i for i, r in enumerate(rules)}
    shown = list(report.findings) + ([f for f in report.suppressed] if report.keep_suppressed else [])
    shown.sort(key=lambda f: f.sort_key)
    root_location = om.ArtifactLocation(
        description=om.Message(text="The scan root: result URIs are relative to it"))
    if report.absolute_base_uri:
        root_location.uri = Path(report.root).as_uri().rstrip("/") + "/"
    invocation = om.Invocation(
        execution_successful=report.execution_successful,
        start_time_utc=report.started, end_time_utc=report.ended,
        tool_execution_notifications=[_notification(n) for n in report.notifications] or None,
        properties={"filesScanned": report.files_scanned, "engine": f"semgrep {report.engine_version}".strip(),
                    **({"diffBase": report.diff_base} if report.diff_base else {}),
                    **({"failure": report.failure} if report.failure else {})},
    )
    run = om.Run(
        tool=om.Tool(driver=om.ToolComponent(
            name="backend-review", version=report.tool_version, semantic_version=report.tool_version,
            information_uri=INFORMATION_URI, rules=[_descriptor(r) for r in rules])),
        automation_details=om.RunAutomationDetails(id=f"{report.category}/"),
        original_uri_base_ids={SRCROOT: root_location},
        invocations=[invocation],
        results=[_result(f, index[f.rule_id], report.keep_suppressed) for f in shown],
        column_kind="unicodeCodePoints",
    )
    return om.SarifLog(version="2.1.0", schema_uri=SCHEMA_URI, runs=[run])


def render(report: ScanReport) -> str:
    return json.dumps(to_json_dict(build(report)), indent=2, ensure_ascii=False) + "\n"
