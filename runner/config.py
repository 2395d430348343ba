"""Find, load and validate the configuration.

Sources, first found wins: `--config FILE`; else, walking up from the first target,
`.backend-review.yml`/`.backend-review.yaml` or a `pyproject.toml` that has a
`[tool.backend-review]` table (as ruff does). Command-line flags override the file.
"""
from __future__ import annotations

import json
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

    def get(self, key: str, default=None):
        return self.values.get(key, default)

    @property
    def base_dir(self) -> Path | None:
        return self.path.parent if self.path else None


def _schema() -> dict:
    return json.loads(paths.schema_path("config.schema.json").read_text())


def discover(start: Path) -> Path | None:
    start = start.resolve()
    folder = start if start.is_dir() else start.parent
    for d in (folder, *folder.parents):
        for name in YAML_NAMES:
            if (d / name).is_file():
                return d / name
        pyproject = d / "pyproject.toml"
        if pyproject.is_file():
            try:
                if "backend-review" in tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}):
                    return pyproject
            except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
                continue  # someone else's broken pyproject is not our config
    return None


def load(path: Path) -> Config:
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    if path.name == "pyproject.toml" or path.suffix == ".toml":
        try:
            data = tomllib.loads(text).get("tool", {}).get("backend-review", {})
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
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
    found = discover(targets[0] if targets else Path.cwd())
    return load(found) if found else Config()
