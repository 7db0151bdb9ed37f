"""Reads pipeline YAML: `extends:` templates, `--set` overrides, validation.

Errors name the file, the key path, the value received and what was
expected, with a did-you-mean for misspelt keys.
"""

from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Any, Iterable, Optional

import yaml
from pydantic import BaseModel, ValidationError

from automl.config.schema import PipelineConfig

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


class ConfigError(ValueError):
    """A pipeline config that cannot be used, with a message fit for a user."""


def template_path(name: str) -> Path:
    path = TEMPLATES_DIR / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in TEMPLATES_DIR.glob("*.yaml"))
        hint = _did_you_mean(name, known)
        raise ConfigError(
            f"No template named {name!r} in {TEMPLATES_DIR}.{hint} Known: {', '.join(known)}"
        )
    return path


def deep_merge(base: dict, override: dict) -> dict:
    """Returns base updated by override; nested mappings merge, the rest replaces."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def read_yaml(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"Pipeline file not found: {path}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of keys. Received: {type(raw).__name__}"
        )
    return raw


def resolve_extends(raw: dict, source: str, seen: Optional[set] = None) -> dict:
    """Follows `extends:` chains (a template name or a path) and merges them."""
    seen = set() if seen is None else seen
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str):
        raise ConfigError(f"{source}: extends: expected a template name. Received: {parent!r}")
    candidate = Path(parent)
    if candidate.suffix in (".yaml", ".yml"):
        if not candidate.is_absolute() and source not in ("<api>", "<set>"):
            candidate = Path(source).parent / candidate
        path = candidate
    else:
        path = template_path(parent)
    if path.resolve() in seen:
        raise ConfigError(f"{source}: extends: {parent!r} forms a cycle")
    seen.add(path.resolve())
    base = resolve_extends(read_yaml(path), str(path), seen)
    return deep_merge(base, raw)


def parse_set(assignments: Iterable[str]) -> dict:
    """Turns `key.path=value` strings (value read as YAML) into a nested dict."""
    result: dict = {}
    for item in assignments:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value. Received: {item!r}")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError(f"--set {key}: the value is not valid YAML: {err}") from None
        node = result
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return result


def _did_you_mean(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


def _model_at(model: type[BaseModel], loc: tuple) -> Optional[type[BaseModel]]:
    """The config class that holds the key at `loc`, if it is a fixed-key model."""
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(part)
        if field is None:
            return None
        current = field.annotation
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def format_validation_error(err: ValidationError, source: str) -> str:
    lines = [f"{source}: the pipeline config is not valid:"]
    for item in err.errors():
        loc = tuple(item["loc"])
        path = ".".join(str(p) for p in loc) or "(top level)"
        if item["type"] == "extra_forbidden":
            parent = _model_at(PipelineConfig, loc[:-1])
            known = list(parent.model_fields) if parent else []
            hint = _did_you_mean(loc[-1], known)
            lines.append(
                f"  - {path}: unknown key.{hint} Known keys here: {', '.join(known)}"
            )
            continue
        received = item.get("input")
        message = item["msg"]
        if item["type"] == "missing":
            lines.append(f"  - {path}: required key is missing")
            continue
        expected = item.get("ctx", {}).get("expected", "")
        hint = ""
        if expected and isinstance(received, str):
            choices = [c.strip(" '") for c in expected.replace(" or ", ",").split(",")]
            hint = _did_you_mean(received, choices)
        lines.append(f"  - {path}: {message}.{hint} Received: {received!r}")
    return "\n".join(lines)


def build_config(raw: dict, source: str, base_dir: Optional[Path] = None) -> PipelineConfig:
    """Validates a raw mapping (extends already merged) and checks data paths exist."""
    raw = dict(raw)
    raw.setdefault("schema_version", 1)
    try:
        config = PipelineConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, source)) from None
    config.data.path = _existing_path(config.data.path, base_dir, source, "data.path")
    if config.data.mask_path:
        config.data.mask_path = _existing_path(config.data.mask_path, base_dir, source, "data.mask_path")
    return config


def package_file(value: str, source: str, key: str) -> Path:
    """Resolves 'package:DIST/relative/path' to a file an installed package ships."""
    from importlib import metadata

    spec = value[len("package:"):]
    dist_name, _, relative = spec.partition("/")
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError:
        raise ConfigError(
            f"{source}: {key}: package {dist_name!r} is not installed (pip install --no-deps "
            f"{dist_name}). Received: {value!r}"
        ) from None
    return Path(str(dist.locate_file(relative)))


def _existing_path(value: str, base_dir: Optional[Path], source: str, key: str) -> str:
    if value.startswith("package:"):
        path = package_file(value, source, key)
        if not path.exists():
            raise ConfigError(f"{source}: {key}: the package has no such file: {path}. Received: {value!r}")
        return str(path)
    path = Path(value).expanduser()
    candidates = [path]
    if not path.is_absolute() and base_dir is not None:
        candidates.append(base_dir / path)
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    raise ConfigError(f"{source}: {key}: no such file or directory. Received: {value!r}")


def load_config(
    path: str | Path, overrides: Iterable[str] = (), extra: Optional[dict] = None
) -> PipelineConfig:
    """Loads a pipeline file, merging its templates, `extra` and `--set` overrides."""
    path = Path(path)
    raw = resolve_extends(read_yaml(path), str(path))
    if extra:
        raw = deep_merge(raw, extra)
    raw = deep_merge(raw, parse_set(overrides))
    return build_config(raw, str(path), base_dir=path.parent)


def config_from_mapping(raw: dict, source: str = "<api>") -> PipelineConfig:
    """Builds a config from a mapping, as the Python API does (extends allowed)."""
    return build_config(resolve_extends(copy.deepcopy(raw), source), source)
