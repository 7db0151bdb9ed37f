"""Reads pipeline YAML: `extends:` templates, `--set` overrides, validation.

Errors name the file, the key path, the value received and what was
expected, with a did-you-mean for misspelt keys.
"""

from __future__ import annotations

import copy
import difflib
import os
from pathlib import Path
from typing import Any, Iterable, Optional

import yaml
from pydantic import BaseModel, ValidationError

from automl.config.schema import PipelineConfig
from automl.errors import ConfigError

def _templates_dir() -> Path:
    """templates/ of the source tree (editable installs), else where `pip install .` put them."""
    import sys

    source = Path(__file__).resolve().parents[2] / "templates"
    installed = Path(sys.prefix) / "share" / "automl" / "templates"
    return source if source.is_dir() or not installed.is_dir() else installed


TEMPLATES_DIR = _templates_dir()


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


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader for which a key given twice in one mapping is an error, not "last wins"."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first on line {seen[key] + 1})", key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, where: str):
    """YAML text as Python values; duplicate keys and syntax errors name `where` and the line."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"{where}:{line}: not valid YAML: {problem}") from None


def read_yaml(path: Path) -> dict:
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder; expected a pipeline YAML file (automl init --task TASK > my.yaml "
                          f"writes one)")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"Pipeline file not found: {path}") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read: {err.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise ConfigError(f"{path}: line {line}: byte 0x{data[err.start]:02x} is not UTF-8; pipeline files are "
                          f"UTF-8 text (is this a YAML file?)") from None
    raw = parse_yaml(text, str(path))
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
        parts = [part.strip() for part in key.split(".")]
        if not sep or not all(parts):
            raise ConfigError(f"--set expects key=value (key.path=value inside a section). Received: {item!r}")
        value = parse_yaml(text, f"--set {key.strip()}")
        node = result
        for depth, part in enumerate(parts[:-1]):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {item}: {'.'.join(parts[:depth + 1])} was already set to {node!r} "
                                  f"by an earlier --set, which is not a section")
        if isinstance(node.get(parts[-1]), dict) and not isinstance(value, dict):
            raise ConfigError(f"--set {item}: an earlier --set gave keys inside {key.strip()}; "
                              f"set the section or its keys, not both")
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


def _owner_task(key: str, model: type[BaseModel]) -> str:
    """For a `data` key unknown here: " It is a key of TASK's data." when another task has it."""
    from automl.tasks import get_config_class, task_names

    owners = [name for name in task_names()
              if key in get_config_class(name).model_fields["data"].annotation.model_fields]
    return f" It is a key of {' and '.join(owners)} data, not {model.model_fields['task'].annotation.__args__[0]}." \
        if owners else ""


def format_validation_error(err: ValidationError, source: str, model: type[BaseModel]) -> str:
    """One line per bad key (`path: what was wrong. Received: value`); one line in all for one key."""
    lines = []
    for item in err.errors():
        loc = tuple(item["loc"])
        path = ".".join(str(p) for p in loc) or "(top level)"
        if item["type"] == "extra_forbidden":
            parent = _model_at(model, loc[:-1])
            known = list(parent.model_fields) if parent else []
            hint = _owner_task(str(loc[-1]), model) if loc[:1] == ("data",) and len(loc) == 2 else ""
            hint = hint or _did_you_mean(loc[-1], known)
            lines.append(f"{path}: unknown key.{hint} Known keys here: {', '.join(known)}")
            continue
        received = item.get("input")
        message = item["msg"]
        if item["type"] == "missing":
            lines.append(f"{path}: required key is missing")
            continue
        if item["type"] == "value_error":  # our validators' messages already say what was received
            lines.append(f"{path}: {message.removeprefix('Value error, ')}")
            continue
        expected = item.get("ctx", {}).get("expected", "")
        hint = ""
        if expected and isinstance(received, str):
            choices = [c.strip(" '") for c in expected.replace(" or ", ",").split(",")]
            hint = _did_you_mean(received, choices)
        lines.append(f"{path}: {message}.{hint} Received: {received!r}")
    if len(lines) == 1:
        return f"{source}: {lines[0]}"
    return "\n".join([f"{source}: {len(lines)} keys are not valid:", *(f"  - {line}" for line in lines)])


def config_class(raw: dict, source: str) -> type[PipelineConfig]:
    """The pipeline config class of the file's task: the task decides which `data` keys exist."""
    from automl.tasks import get_config_class, require_task, task_names

    task = raw.get("task")
    if task is None:
        raise ConfigError(f"{source}: task: required key is missing (one of {', '.join(task_names())}; "
                          f"or extends: a task's template)")
    return get_config_class(require_task(task, f"{source}: task"))


def build_config(raw: dict, source: str, base_dir: Optional[Path] = None) -> PipelineConfig:
    """Validates a raw mapping (extends already merged) and checks data paths exist."""
    raw = dict(raw)
    raw.setdefault("schema_version", 1)
    model = config_class(raw, source)
    try:
        config = model.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(format_validation_error(err, source, model)) from None
    for key in config.data.path_keys:
        value = getattr(config.data, key)
        if value:
            setattr(config.data, key, _existing_path(value, base_dir, source, f"data.{key}"))
    check_choices(config, source)
    return config


def check_choices(config: PipelineConfig, source: str) -> None:
    """Checks the values that depend on the task against the registries: pinned families
    serve it, the objective is one it reports, and every pinned family can have a trial."""
    from automl.families import family_names, get_family
    from automl.tasks import get_task_class

    search = config.search
    if search.families != "auto":
        serving = family_names(config.task)
        for name in search.families:
            try:
                family = get_family(name)
            except ValueError:
                hint = _did_you_mean(name, serving)
                raise ConfigError(f"{source}: search.families: unknown family {name!r}.{hint} "
                                  f"Families for {config.task}: {', '.join(serving)}") from None
            if config.task not in family.info.tasks:
                raise ConfigError(f"{source}: search.families: {name!r} does not serve {config.task} "
                                  f"(it serves {', '.join(family.info.tasks)}). Families for it: {', '.join(serving)}")
        if len(set(search.families)) != len(search.families):
            raise ConfigError(f"{source}: search.families names a family twice. Received: {search.families}")
        if len(search.families) > search.max_trials:
            raise ConfigError(f"{source}: search.families pins {len(search.families)} families but "
                              f"search.max_trials is {search.max_trials}: each family needs at least one trial")
    if search.objective != "auto":
        known = get_task_class(config.task).goal.search_objectives()
        if search.objective not in known:
            hint = _did_you_mean(search.objective, known)
            raise ConfigError(f"{source}: search.objective: {config.task} does not report "
                              f"{search.objective!r}.{hint} It reports: {', '.join(known)}")


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
    # A relative path is read from the pipeline file's folder first, so a run works from any
    # current folder; then from the current folder.
    candidates = [path]
    if not path.is_absolute() and base_dir is not None:
        candidates.insert(0, base_dir / path)
    for candidate in candidates:
        if candidate.exists():  # kept absolute: a run directory is read back from anywhere
            return os.path.abspath(candidate)
    looked = " or ".join(str(c.absolute()) for c in candidates)
    raise ConfigError(f"{source}: {key}: no such file or directory (looked for {looked}). Received: {value!r}")


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
