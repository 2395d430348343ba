"""The Finding model and the severity scale every reporter works from."""
from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field


class Severity(enum.IntEnum):
    """The pack's four levels; the integer order lets thresholds compare."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> "Severity":
        return cls[text.upper()]

    @property
    def label(self) -> str:
        return self.name.capitalize()

    @property
    def semgrep(self) -> str:
        """Semgrep's own severity for a rule at this level."""
        return {Severity.CRITICAL: "ERROR", Severity.HIGH: "ERROR",
                Severity.MEDIUM: "WARNING", Severity.LOW: "INFO"}[self]

    @property
    def sarif_level(self) -> str:
        return {Severity.CRITICAL: "error", Severity.HIGH: "error",
                Severity.MEDIUM: "warning", Severity.LOW: "note"}[self]

    @property
    def security_band(self) -> tuple[float, float]:
        """GitHub `security-severity` range for this level (inclusive)."""
        return {Severity.CRITICAL: (9.0, 10.0), Severity.HIGH: (7.0, 8.9),
                Severity.MEDIUM: (4.0, 6.9), Severity.LOW: (0.1, 3.9)}[self]

    @property
    def action(self) -> str:
        return {Severity.CRITICAL: "fix before anything else",
                Severity.HIGH: "fix before merge or deploy",
                Severity.MEDIUM: "fix in the current cycle",
                Severity.LOW: "consider; document if deferred"}[self]


SECTIONS = ("architecture", "scalability", "security", "performance")
SECTION_TITLES = {
    "architecture": "Architecture assessment",
    "scalability": "Scalability concerns",
    "security": "Security recommendations",
    "performance": "Performance optimizations",
}


@dataclass(frozen=True)
class Region:
    start_line: int
    start_column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class Related:
    """Another place that belongs to a finding: the route that registers its handler, or
    the other places one root cause affects."""

    path: str
    region: Region
    message: str


@dataclass
class Finding:
    """One result, independent of Semgrep's raw JSON. Reporters only see this."""

    rule_id: str
    area: str
    section: str
    severity: Severity
    confidence: str
    message: str
    remediation: str
    path: str  # relative to the scan root, POSIX separators
    region: Region
    snippet: str  # the matched lines, read from the file by the runner
    fingerprint: str = ""
    line_hash: str = ""  # GitHub's primaryLocationLineHash of the first line
    code_key: str = ""  # the fingerprint without the path: baselines add their own relative path
    suppression: "Suppression | None" = None
    dataflow: list[dict] = field(default_factory=list)
    context: str = ""  # where the code runs (handler, job, cli, ...; see backend_review.model)
    context_reason: str = ""  # why the project model placed it there
    related: list[Related] = field(default_factory=list)
    in_diff: bool | None = None  # with --diff-base: does it touch a changed line (None: no diff scan)

    @property
    def sort_key(self) -> tuple:
        return (-self.severity, self.path, self.region.start_line,
                self.region.start_column, self.rule_id)


@dataclass(frozen=True)
class Suppression:
    kind: str  # "inSource" (nosemgrep comment) or "external" (baseline)
    justification: str


@dataclass(frozen=True)
class Notification:
    """Something the scan could not do fully: a parse error, a timeout, a skipped file."""

    level: str  # "error" | "warning" | "note" (SARIF notification levels)
    message: str
    path: str | None = None
    line: int | None = None
    kind: str = "engine"  # engine | skipped | runner


@dataclass
class ScanReport:
    """Everything a reporter may show: the one input of every output format."""

    findings: list[Finding]
    rules: list  # backend_review.rules.Rule, the rules that ran (after severity overrides)
    notifications: list[Notification]
    root: str  # absolute scan root (never written to outputs unless asked)
    files_scanned: int
    tool_version: str
    engine_version: str
    execution_successful: bool
    failure: str | None
    fail_on: "Severity | None"
    started: str  # ISO 8601 UTC; the only non-deterministic fields
    ended: str
    suppressed: list[Finding] = field(default_factory=list)
    diff_base: str | None = None
    category: str = "backend-review"
    absolute_base_uri: bool = False
    keep_suppressed: bool = False

    def counts(self) -> dict[Severity, int]:
        out = {s: 0 for s in sorted(Severity, reverse=True)}
        for f in self.findings:
            out[f.severity] += 1
        return out

    def failing(self) -> list[Finding]:
        """What the exit code judges: with --diff-base, only findings on changed lines."""
        if self.fail_on is None:
            return []
        return [f for f in self.findings if f.severity >= self.fail_on and f.in_diff is not False]

    def changed_only(self) -> "ScanReport":
        """The gate's view of a --diff-base scan (text, Markdown, --summary): findings on
        changed lines only. SARIF and JSON keep the full analysis, each result marked."""
        if self.diff_base is None:
            return self
        return dataclasses.replace(self, findings=[f for f in self.findings if f.in_diff is not False],
                                   suppressed=[f for f in self.suppressed if f.in_diff is not False])
