"""What every configuration section shares: strict validation, and sections derived from library dataclasses.

A library dataclass (``training.TrainConfig``, ``debate.SamplingConfig``, the judge server's
``ServerSettings``) owns the defaults and checks of its settings. ``section_from`` builds the
config section from it, so a YAML key, its type and its default exist in one place only, and
validating a section runs the dataclass's own checks.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator


class ConfigError(ValueError):
    """A config file, override or flag that does not describe a valid run."""


class StrictSection(BaseModel):
    """A config section: unknown keys are errors, values are frozen after validation."""

    model_config = ConfigDict(extra="forbid", frozen=True)


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
        values = {**self.library_fixed, **self.model_dump(), **extra}
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
) -> type[DerivedSection]:
    """A strict section with one key per field of ``library_class`` (minus ``exclude``), same types and defaults.

    ``module`` is the module that binds the section to ``name`` (so sections pickle, e.g. into worker
    processes). ``fixed`` gives values for excluded fields the dataclass needs when a section is checked
    (``to_library``); ``descriptions`` documents keys for ``w2s config`` and the README.
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
        fields[field.name] = (hints[field.name], default)
    section = create_model(name, __base__=DerivedSection, __doc__=doc, __module__=module, **fields)
    section.library_class = library_class
    section.library_fixed = dict(fixed or {})
    return section
