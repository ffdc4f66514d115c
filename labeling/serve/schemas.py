"""Request and response bodies of the judge API; field caps come from the server settings."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model, model_validator
from pydantic_core import PydanticCustomError

from labeling.serve.settings import ServerSettings


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DebateTurn(_Body):
    """One debater's turn."""

    speaker: str
    stance: str = Field(description="the side this debater argued: 'correct' or 'incorrect'")
    text: str


class DebateTranscript(_Body):
    """The debate the server ran for an item, as the judge read it."""

    protocol: str
    seed: int
    model_id: str
    prompt_version: str
    stances: dict[str, str]
    turns: list[DebateTurn]
    text: str = Field(description="the rendered transcript given to the judge")


class JudgeResult(_Body):
    """The judge's verdict on one item."""

    id: str | None = Field(description="the item's id as sent (null if none was sent)")
    probability: float = Field(ge=0.0, le=1.0, description="P(the candidate answer is correct)")
    label: int = Field(description="1 if probability >= the server's threshold, else 0")
    member_probabilities: list[float] = Field(
        description="each ensemble member's probability (one entry for a single judge); probability is their mean"
    )
    transcript: DebateTranscript | None = Field(default=None, description="present when debate was requested")


class JudgeResponse(_Body):
    """Verdicts in request order."""

    model: str
    protocol: str
    threshold: float
    results: list[JudgeResult]


class ErrorResponse(BaseModel):
    """Every error body: a message, and for 422 the offending fields."""

    detail: str
    errors: list[dict[str, Any]] | None = None


def _not_blank(value: str) -> str:
    """Item files refuse whitespace-only questions and answers; so does the API."""
    if not value.strip():
        raise PydanticCustomError("blank", "must not be blank (it holds only whitespace)")
    return value


def request_models(settings: ServerSettings) -> tuple[type[BaseModel], type[BaseModel]]:
    """(JudgeItem, JudgeRequest) with this server's caps written into their schema."""
    # the pattern documents the blank check for clients; _not_blank enforces it with a clearer message
    text = Annotated[str, Field(min_length=1, max_length=settings.max_field_chars, json_schema_extra={"pattern": r"\S"}),
                     AfterValidator(_not_blank)]
    item = create_model(
        "JudgeItem",
        __base__=_Body,
        __doc__="A binary item: is `answer` a correct answer to `question`?",
        id=(str | None, Field(default=None, max_length=200, description="echoed back in the result")),
        question=(text, Field(description="the question (and passage, if any); not blank")),
        answer=(text, Field(description="the candidate answer to judge; not blank")),
        transcript=(
            str | None,
            Field(
                default=None,
                max_length=settings.max_transcript_chars,
                description="a rendered debate transcript for the judge to read; omit when debate is true",
            ),
        ),
    )

    class JudgeRequestBase(_Body):
        @model_validator(mode="after")
        def _debate_without_transcripts(self):  # type: ignore[no-untyped-def]
            if self.debate and any(i.transcript for i in self.items):
                raise ValueError("transcript must be omitted when debate is true (the server writes it)")
            return self

    request = create_model(
        "JudgeRequest",
        __base__=JudgeRequestBase,
        __doc__="Items to judge; with debate=true the server first runs a debate on each item.",
        items=(list[item], Field(min_length=1, max_length=settings.max_items)),  # type: ignore[valid-type]
        debate=(bool, Field(default=False, description="run the debate protocol with the strong model first")),
    )
    return item, request
