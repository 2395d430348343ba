"""backend-review: a Semgrep rule pack and the runner that rates, reports and gates on it."""

__version__ = "0.1.0"
