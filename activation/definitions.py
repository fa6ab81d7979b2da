"""Segment definitions: the YAML file the marketing team edits, validated with pydantic.

A segment narrows the scored, eligible population with optional filters (`where`: id types,
home regions, theme affinity) and then keeps the most likely persons (`select`: top deciles,
top-k, a score threshold, a top fraction of the filtered population). Every condition given
must hold. A shipped default lives beside this module (default_segments.yaml).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from activation.destination_settings import DestinationSettings
from activation.exporters import EXPORTERS
from core.contract import ID_TYPES, THEMES

DEFAULT_SEGMENTS_FILE = Path(__file__).parent / "default_segments.yaml"
SEGMENT_NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
# ISO 3166-2 subdivision (SE-AB) or ISO 3166-1 alpha-2 country (DE), as in contract §1.
REGION_PATTERN = r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$"

Theme = Literal[THEMES]  # type: ignore[valid-type]
IdType = Literal[ID_TYPES]  # type: ignore[valid-type]


def destination_names() -> tuple[str, ...]:
    """Every destination Norrut writes, generic first: the registry's names, read when asked."""
    return tuple(EXPORTERS)


def _registered_destination(name: str) -> str:
    if name not in destination_names():
        # The error type and message a Literal of the names gives, so errors read as before.
        quoted = [repr(known) for known in destination_names()]
        raise PydanticCustomError("literal_error", "Input should be {expected}",
                                  {"expected": f"{', '.join(quoted[:-1])} or {quoted[-1]}"})
    return name


def _list_destinations(schema: dict[str, Any]) -> None:
    schema["enum"] = list(destination_names())


def _every_destination() -> list[str]:
    return list(destination_names())


# A destination's name; checked against the registry (activation.exporters.EXPORTERS) when a
# value is validated, and listed as the JSON schema's enum when a schema is made.
Destination = Annotated[str, AfterValidator(_registered_destination),
                        Field(json_schema_extra=_list_destinations)]


class SegmentConfigError(ValueError):
    """The segments file cannot be read or breaks a rule; the message says where."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThemeAffinity(_Strict):
    """Sum of the person's 90-day engagement shares on these themes must reach `min_share`."""

    themes: Annotated[list[Theme], Field(min_length=1)]
    min_share: Annotated[float, Field(gt=0, le=1)]


class Where(_Strict):
    id_types: list[IdType] | None = None
    regions: list[Annotated[str, Field(pattern=REGION_PATTERN)]] | None = None
    theme_affinity: ThemeAffinity | None = None


class Select(_Strict):
    top_deciles: Annotated[int, Field(ge=1, le=10)] | None = None
    top_k: Annotated[int, Field(ge=1)] | None = None
    min_score: Annotated[float, Field(ge=0, le=1)] | None = None
    top_fraction: Annotated[float, Field(gt=0, le=1)] | None = None


class SegmentDefinition(_Strict):
    name: Annotated[str, Field(pattern=SEGMENT_NAME_PATTERN)]
    description: Annotated[str, Field(min_length=1, max_length=500)]
    where: Where = Where()
    select: Select = Select()
    destinations: list[Destination] | None = None
    holdout_fraction: Annotated[float, Field(ge=0, lt=1)] | None = None
    min_audience_size: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _narrows_something(self) -> SegmentDefinition:
        if self.where == Where() and self.select == Select():
            raise ValueError("a segment needs at least one `where` filter or `select` rule")
        return self


class SegmentsFile(_Strict):
    min_audience_size: Annotated[int, Field(ge=1)] = 1000
    holdout_fraction: Annotated[float, Field(ge=0, lt=1)] = 0.10
    destinations: list[Destination] = Field(default_factory=_every_destination)
    destination_settings: DestinationSettings = DestinationSettings()
    segments: Annotated[list[SegmentDefinition], Field(min_length=1)]

    @field_validator("destination_settings", mode="before")
    @classmethod
    def _empty_block_means_none_set(cls, value: object) -> object:
        # A YAML block holding only comments parses as null.
        return {} if value is None else value

    @field_validator("segments")
    @classmethod
    def _unique_names(cls, segments: list[SegmentDefinition]) -> list[SegmentDefinition]:
        names = [segment.name for segment in segments]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"segment names must be unique; repeated: {duplicates}")
        return segments

    def destinations_of(self, segment: SegmentDefinition) -> list[str]:
        """The destinations this segment is written to; generic is always among them."""
        chosen = segment.destinations or self.destinations
        return ["generic"] + [name for name in destination_names()
                              if name in chosen and name != "generic"]

    def holdout_fraction_of(self, segment: SegmentDefinition) -> float:
        return self.holdout_fraction if segment.holdout_fraction is None else segment.holdout_fraction

    def min_audience_size_of(self, segment: SegmentDefinition) -> int:
        if segment.min_audience_size is None:
            return self.min_audience_size
        return segment.min_audience_size


def parse_segments(data: object, source: str = "segments file") -> SegmentsFile:
    """Validate already-parsed YAML; errors name the offending field."""
    try:
        return SegmentsFile.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or '(top level)'}: {issue['msg']}"
            for issue in error.errors()
        )
        raise SegmentConfigError(f"{source} is invalid: {problems}") from None


def load_segments(path: str | os.PathLike[str] | None = None) -> SegmentsFile:
    """Read and validate a segments YAML file (the shipped default when `path` is None)."""
    import yaml

    path = Path(path) if path is not None else DEFAULT_SEGMENTS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SegmentConfigError(f"cannot read segments file {path}: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SegmentConfigError(yaml_problem(error, path, text)) from None
    return parse_segments(data, f"segments file {path}")


def yaml_problem(error: Exception, path: Path, text: str) -> str:
    """A YAML syntax error in one line naming the file, the line and the column:
    `segments file /x/segs.yaml, line 4, column 7: mapping values are not allowed here`.
    PyYAML's own message spans several lines and names the file `"<unicode string>"`."""
    import yaml

    where = f"segments file {path}"
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        problem = error.problem or "not valid YAML"
        if error.context:  # what the parser was in the middle of, and where that began
            began = error.context_mark
            problem += (f" ({error.context} from line {began.line + 1})" if began is not None
                        else f" ({error.context})")
        return f"{where}, line {mark.line + 1}, column {mark.column + 1}: {problem}"
    if isinstance(error, yaml.reader.ReaderError):  # a character YAML refuses, by position
        line = text.count("\n", 0, error.position) + 1
        column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
        return f"{where}, line {line}, column {column}: {_first_line(error)}"
    return f"{where} is not valid YAML: {_first_line(error)}"


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]


def is_valid_segment_name(name: str) -> bool:
    return re.fullmatch(SEGMENT_NAME_PATTERN, name) is not None
