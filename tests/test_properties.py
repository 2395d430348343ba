"""Property tests: any findings with any file names give schema-valid SARIF and JSON."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from hypothesis import HealthCheck, given, settings, strategies as st

from backend_review.finding import Finding, Notification, Region, ScanReport, Severity, Suppression
from backend_review.report import json_report, markdown, sarif, text
from backend_review.rules import load_pack

ROOT = Path(__file__).resolve().parent.parent
# A spread of real rules (security and not) keeps each example fast to validate.
PACK = load_pack(ROOT / "rules")[::8]
SARIF_VALIDATOR = jsonschema.Draft7Validator(json.loads((ROOT / "schemas" / "sarif-schema-2.1.0.json").read_text()),
                                             format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
REPORT_VALIDATOR = jsonschema.Draft7Validator(json.loads((ROOT / "schemas" / "report.schema.json").read_text()))

path_part = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), min_size=1, max_size=12)
paths = st.lists(path_part, min_size=1, max_size=3).map("/".join).filter(lambda p: p not in (".", ".."))


@st.composite
def findings(draw):
    rule = draw(st.sampled_from(PACK))
    start = draw(st.integers(1, 5000))
    end = start + draw(st.integers(0, 20))
    sup = draw(st.one_of(st.none(), st.builds(Suppression, st.sampled_from(["inSource", "external"]), st.text(max_size=30))))
    return Finding(rule_id=rule.id, area=rule.area, section=rule.section, severity=draw(st.sampled_from(list(Severity))),
                   confidence=rule.confidence, message=rule.message, remediation=rule.remediation,
                   path=draw(paths), region=Region(start, draw(st.integers(1, 200)), end, draw(st.integers(1, 200))),
                   snippet=draw(st.text(max_size=80)), fingerprint=draw(st.text("0123456789abcdef", min_size=32, max_size=32)),
                   suppression=sup)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(findings(), max_size=8), st.lists(st.builds(Notification, st.sampled_from(["error", "warning", "note"]),
                                                           st.text(min_size=1, max_size=40), st.one_of(st.none(), paths),
                                                           st.one_of(st.none(), st.integers(1, 100))), max_size=3),
       st.booleans())
def test_random_reports_are_schema_valid(items, notes, keep):
    kept = [f for f in items if f.suppression is None]
    suppressed = [f for f in items if f.suppression is not None]
    report = ScanReport(findings=kept, rules=PACK, notifications=notes, root="/nonexistent", files_scanned=len(items),
                        tool_version="0.1.0", engine_version="1.185.0", execution_successful=True, failure=None,
                        fail_on=Severity.HIGH, started="2026-01-01T00:00:00Z", ended="2026-01-01T00:00:01Z",
                        suppressed=suppressed, keep_suppressed=keep)
    doc = json.loads(sarif.render(report))
    errors = list(SARIF_VALIDATOR.iter_errors(doc))
    assert not errors, errors[0].message
    out = json.loads(json_report.render(report))
    assert not list(REPORT_VALIDATOR.iter_errors(out))
    for rendered in (text.render(report, colour=False), markdown.render(report)):
        assert "\x1b" not in rendered
