"""Loading any configuration: a YAML file, then command-line shorthand flags, then ``--set key.path=value``.

Every application (``w2s run``, ``w2s label``, ``w2s serve-judge``) validates one pydantic model
built from the same sections. Flags are shorthands for dotted keys (``--temperature`` is
``debate.sampling.temperature``); ``--set`` reaches every key and wins over flags, which win over the
file. Errors name the dotted key, and the flag that sets it when there is one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from labeling.config.base import ConfigError

Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True)
class Shorthand:
    """A command-line flag that sets one dotted config key."""

    flag: str
    key: str
    help: str
    type: Callable[[str], Any] | None = str
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    repeat: bool = False  # the flag may be given several times; the key gets the list

    @property
    def shown_metavar(self) -> str:
        """The value's name in ``--help`` (``--max-tokens MAX_TOKENS``)."""
        return self.metavar or self.flag.lstrip("-").upper().replace("-", "_")

    @property
    def dest(self) -> str:
        """The argparse attribute of the flag."""
        return "flag_" + self.flag.lstrip("-").replace("-", "_")


def int_or_auto(value: str) -> int | str:
    """A flag value that is a whole number or ``auto``."""
    return value if value == "auto" else int(value)


def float_or_auto(value: str) -> float | str:
    """A flag value that is a number or ``auto``."""
    return value if value == "auto" else float(value)


def format_validation_error(exc: ValidationError, origin: str, flags: dict[str, str] | None = None) -> str:
    """One line per problem, naming the dotted key (and the flag that sets it, if any)."""
    lines = [f"invalid config {origin}:"]
    for err in exc.errors():
        if not err["loc"]:  # a check across sections: its message names the keys; the input is the whole config
            lines.append(f"  {err['msg'].removeprefix('Value error, ')}")
            continue
        path = ".".join(str(part) for part in err["loc"])
        if flags and path in flags:
            path = f"{path} ({flags[path]})"
        if err["type"] == "extra_forbidden":
            lines.append(f"  {path}: unknown key")
        elif err["type"] == "missing":
            raw = ".".join(str(part) for part in err["loc"])
            hints = [flag for key, flag in (flags or {}).items() if key.startswith(raw + ".")]
            lines.append(f"  {path}: required" + (f" (flags: {', '.join(hints)})" if hints else ""))
        elif not err["loc"]:  # a rule across sections: its message names the keys; the input is the whole config
            lines.append(f"  {err['msg'].removeprefix('Value error, ')}")
        else:
            lines.append(f"  {path}: {err['msg'].removeprefix('Value error, ')} (got {err.get('input')!r})")
    return "\n".join(lines)


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a mapping may not give the same key twice (PyYAML keeps the last)."""


def _mapping_without_repeats(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice in one mapping (the first would be dropped)",
                key_node.start_mark,
            )
        seen[key] = True
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_repeats)


def load_yaml_text(text: str) -> Any:
    """Parse YAML text; a key given twice in one mapping is an error (yaml.YAMLError), not silently dropped."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def parse_override(item: str) -> tuple[list[str], Any]:
    """Split ``a.b.c=value`` into its key path and a YAML-parsed value."""
    if "=" not in item:
        raise ConfigError(f"override {item!r} is not of the form key.path=value")
    key, raw = item.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ConfigError(f"override {item!r} has an empty key")
    try:
        value = load_yaml_text(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {item!r}: value is not valid YAML: {exc}") from exc
    return parts, value


def set_key(data: dict[str, Any], parts: list[str], value: Any, origin: str) -> None:
    """Set ``data[a][b]...[z] = value``, creating sections on the way; ``origin`` names the setting in errors."""
    node = data
    for depth, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(f"{origin}: {'.'.join(parts[: depth + 1])} is not a section")
        node = child
    node[parts[-1]] = value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with each ``key.path=value`` override set (CLI wins over YAML)."""
    result = json.loads(json.dumps(data))
    for item in overrides:
        parts, value = parse_override(item)
        set_key(result, parts, value, f"override {item!r}")
    return result


def read_yaml(path: str | Path | None) -> dict[str, Any]:
    """The mapping in a YAML config file (``None``: an empty config)."""
    if path is None:
        return {}
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} is a folder, not a YAML file" if path.is_dir()
                          else f"config file {path} does not exist")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:  # say where, as an editor counts: line, and column in characters
        line = raw.count(b"\n", 0, err.start) + 1
        line_start = raw.rfind(b"\n", 0, err.start) + 1
        column = len(raw[line_start : err.start].decode("utf-8", errors="replace")) + 1
        raise ConfigError(f"config file {path}: line {line}: not valid UTF-8 "
                          f"(byte 0x{raw[err.start]:02x} at column {column}); save the file as UTF-8") from None
    try:
        data = load_yaml_text(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return data


def validate(model: type[Model], data: dict[str, Any], origin: str, flags: dict[str, str] | None = None) -> Model:
    """``model`` validated from ``data``, or a ConfigError listing every problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, origin, flags)) from None


def add_config_args(parser: argparse.ArgumentParser, shorthands: tuple[Shorthand, ...] = (), optional: bool = False) -> None:
    """The config file argument, ``--set``, and the shorthand flags of one command."""
    if optional:
        parser.add_argument("config", nargs="?", help="YAML config (optional: flags and --set can give everything)")
    else:
        parser.add_argument("config", help="experiment YAML (see configs/)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="set any config key, e.g. --set data.test=100 (repeatable; YAML values; wins over flags)",
    )
    for s in shorthands:
        help_text = f"{s.help} [{s.key}]"
        if s.type is None:
            parser.add_argument(s.flag, dest=s.dest, action="store_const", const=True, default=None, help=help_text)
        elif s.repeat:
            parser.add_argument(s.flag, dest=s.dest, action="append", type=s.type, metavar=s.shown_metavar,
                                default=None, help=help_text + " (repeatable)")
        else:
            parser.add_argument(s.flag, dest=s.dest, type=s.type, choices=s.choices,
                                metavar=None if s.choices else s.shown_metavar,
                                default=None, help=help_text)


def load_from_args(model: type[Model], args: argparse.Namespace, shorthands: tuple[Shorthand, ...] = ()) -> Model:
    """Validate ``model`` from the command line: file, then the flags given, then ``--set``."""
    data = read_yaml(args.config)
    for s in shorthands:
        value = getattr(args, s.dest, None)
        if value is not None:
            set_key(data, s.key.split("."), value, s.flag)
    data = apply_overrides(data, args.overrides)
    return validate(model, data, args.config or "from the command line", {s.key: s.flag for s in shorthands})


def absolute_path(value: str, key: str) -> str:
    """``value`` with ``~`` expanded, made absolute against the working directory; ConfigError naming ``key``."""
    try:
        return str(Path(value).expanduser().resolve())
    except RuntimeError as exc:  # `~nosuchuser/...`: Path.expanduser cannot find that home directory
        raise ConfigError(f"{key}: cannot expand {value!r} ({exc}); give an existing user or a full path") from None


def config_hash(payload: Any, length: int = 10) -> str:
    """Stable short hash of a JSON-able payload (pydantic models are dumped first)."""
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json")
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]
