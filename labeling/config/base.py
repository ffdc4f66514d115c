"""What every configuration section shares: strict validation, and sections derived from library dataclasses.

A library dataclass (``training.TrainConfig``, ``debate.SamplingConfig``, the judge server's
``ServerSettings``) owns the defaults and checks of its settings. ``section_from`` builds the
config section from it, so a YAML key, its type and its default exist in one place only, and
validating a section runs the dataclass's own checks.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, create_model, field_validator, model_validator


class ConfigError(ValueError):
    """A config file, override or flag that does not describe a valid run."""


def bool_for_number(annotation: Any, value: Any) -> bool:
    """True when ``value`` (or an element of it) is a bool where ``annotation`` wants an int or float.

    YAML reads ``true``/``false`` as booleans and pydantic would quietly take them as 1/0
    (``data.test: true`` would ask for one test item).
    """
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return bool_for_number(args[0], value)
    if origin in (typing.Union, types.UnionType):
        if isinstance(value, bool) and bool in args:
            return False
        return any(bool_for_number(arg, value) for arg in args)
    if origin in (list, tuple, set) and args and isinstance(value, (list, tuple)):
        return any(bool_for_number(args[0], item) for item in value)
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return any(bool_for_number(args[1], item) for item in value.values())
    return isinstance(value, bool) and annotation in (int, float)


class StrictSection(BaseModel):
    """A config section: unknown keys are errors, booleans are not numbers, values are frozen after validation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and bool_for_number(field.annotation, value):
            raise ValueError(f"a boolean ({value!r}) where a number is expected")
        return value


class DerivedSection(StrictSection):
    """A section whose keys and defaults come from a library dataclass (see ``section_from``)."""

    library_class: ClassVar[type]
    library_fixed: ClassVar[dict[str, Any]] = {}

    @model_validator(mode="after")
    def _library_accepts(self) -> "DerivedSection":
        self.to_library()  # the dataclass's own checks; their ValueError names the failed rule
        return self

    def to_library(self, **extra: Any) -> Any:
        """The library dataclass holding these values (plus ``extra`` for the keys the section leaves out)."""
        own = {name: value.to_library() if isinstance(value, DerivedSection) else value
               for name, value in ((name, getattr(self, name)) for name in type(self).model_fields)}
        values = {**self.library_fixed, **self.model_dump(), **own, **extra}
        return self.library_class(**values)


def section_from(
    library_class: type,
    name: str,
    doc: str,
    *,
    module: str,
    exclude: tuple[str, ...] = (),
    fixed: dict[str, Any] | None = None,
    descriptions: dict[str, str] | None = None,
    nested: dict[str, type[DerivedSection]] | None = None,
) -> type[DerivedSection]:
    """A strict section with one key per field of ``library_class`` (minus ``exclude``), same types and defaults.

    ``module`` is the module that binds the section to ``name`` (so sections pickle, e.g. into worker
    processes). ``fixed`` gives values for excluded fields the dataclass needs when a section is checked
    (``to_library``); ``descriptions`` documents keys for ``w2s config`` and the README; ``nested``
    gives the section of a field that holds another library dataclass (so its keys are strict too).
    """
    hints = typing.get_type_hints(library_class)
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(library_class):
        if field.name in exclude:
            continue
        description = (descriptions or {}).get(field.name)
        if field.default is not dataclasses.MISSING:
            default = Field(field.default, description=description)
        elif field.default_factory is not dataclasses.MISSING:
            default = Field(default_factory=field.default_factory, description=description)
        else:
            default = Field(..., description=description)
        hint = hints[field.name]
        if nested and field.name in nested:  # e.g. `LoraSettings | None` -> `LoraSection | None`
            hint = nested[field.name] | None if field.default is None else nested[field.name]
        fields[field.name] = (hint, default)
    section = create_model(name, __base__=DerivedSection, __doc__=doc, __module__=module, **fields)
    section.library_class = library_class
    section.library_fixed = dict(fixed or {})
    return section
