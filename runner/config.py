"""Find, load and validate the configuration.

Sources, first found wins: `--config FILE`; else, walking up from the first target, the
first folder that holds `.backend-review.yml`/`.backend-review.yaml` or a `pyproject.toml`
with a `[tool.backend-review]` table (as ruff does). Command-line flags override the file.

A config never silently disappears: a `pyproject.toml` met on the walk that is not valid
TOML is an error naming file and line (it may hold our table), and when two config files
sit side by side the dedicated one wins (as ruff prefers `ruff.toml` over `pyproject.toml`)
with a note naming the one used and the one ignored.
"""
from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import yaml

from backend_review import paths

YAML_NAMES = (".backend-review.yml", ".backend-review.yaml")


class ConfigError(Exception):
    """The message names the file, the key and what was expected."""


@dataclass
class Config:
    path: Path | None = None
    values: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # said once on stderr, e.g. a config file ignored

    def get(self, key: str, default=None):
        return self.values.get(key, default)

    @property
    def base_dir(self) -> Path | None:
        return self.path.parent if self.path else None


def _schema() -> dict:
    return json.loads(paths.schema_path("config.schema.json").read_text())


def discover(start: Path) -> tuple[Path | None, list[str]]:
    """The config file for `start` and notes about config files passed over."""
    start = start.resolve()
    folder = start if start.is_dir() else start.parent
    for d in (folder, *folder.parents):
        found = [d / name for name in YAML_NAMES if (d / name).is_file()]
        pyproject = d / "pyproject.toml"
        if pyproject.is_file() and _has_table(_parse_toml(pyproject)):
            found.append(pyproject)
        if found:
            notes = [f"using config {found[0]}; ignoring {other} beside it" for other in found[1:]]
            return found[0], notes
    return None, []


def _has_table(doc: dict) -> bool:
    return isinstance(doc.get("tool"), dict) and "backend-review" in doc["tool"]


_TOML_WHERE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None


def _parse_toml(path: Path, text: str | None = None) -> dict:
    text = _read(path) if text is None else text
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib (3.11) gives the position only inside its message: "... (at line N, column M)".
        message = str(exc)
        where = _TOML_WHERE.search(message)
        if not where:
            raise ConfigError(f"{path}: invalid TOML: {message}") from None
        line, column = where.groups()
        raise ConfigError(f"{path}:{line}: invalid TOML: {message[:where.start()]} (column {column})") from None


def load(path: Path) -> Config:
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    text = _read(path)
    if path.name == "pyproject.toml" or path.suffix == ".toml":
        doc = _parse_toml(path, text)
        if not _has_table(doc):
            raise ConfigError(f"{path}: no [tool.backend-review] table")
        data = doc["tool"]["backend-review"]
        prefix = "tool.backend-review"
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f":{mark.line + 1}" if mark else ""
            raise ConfigError(f"{path}{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}") from None
        data = {} if data is None else data
        prefix = ""
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, found {type(data).__name__}")
    errors = sorted(jsonschema.Draft7Validator(_schema()).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        key = ".".join([prefix] * bool(prefix) + [str(p) for p in err.absolute_path]) or prefix or "(top level)"
        raise ConfigError(f"{path}: {key}: {_explain(err)}")
    return Config(path=path.resolve(), values=data)


def _explain(err: jsonschema.ValidationError) -> str:
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        allowed = ", ".join(sorted(err.schema.get("properties", {})))
        return f"unknown key {extra[0]!r} (allowed: {allowed})" if extra else err.message
    if err.validator == "enum":
        return f"{err.instance!r} is not one of {', '.join(map(str, err.validator_value))}"
    if err.validator == "type":
        return f"expected {err.validator_value}, found {type(err.instance).__name__} {err.instance!r}"
    return err.message


def resolve(explicit: Path | None, targets: list[Path]) -> Config:
    if explicit is not None:
        return load(explicit)
    found, notes = discover(targets[0] if targets else Path.cwd())
    cfg = load(found) if found else Config()
    cfg.notes = notes
    return cfg
