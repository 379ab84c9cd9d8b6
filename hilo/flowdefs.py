"""Question flows as data: the YAML format of CONTRACT.md Part 2, validated by pydantic.

Shared because two services read it: the router starts a flow when a message is one
of its keywords (so the keyword message is answered by the flow and nothing else), and
the flows service asks the questions. Errors name the file and the line, so an
operator can fix a flow without reading a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hilo.text import keyword
from hilo.yaml_files import (
    FileProblem,
    InvalidFile,
    LocalizedText,
    localized,
    parse_mapping,
    problems,
    read_text,
)

Language = Literal["es", "en"]
QuestionType = Literal["text", "email", "number", "date", "choice"]


# A text of a flow: in the flow's language, or one per language.
Text = LocalizedText


class Question(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    text: Text
    type: QuestionType = "text"
    hint: Text | None = None
    options: tuple[Text, ...] = ()
    required: bool = True

    @model_validator(mode="after")
    def _options_match_type(self) -> Question:
        if self.type == "choice" and len(self.options) < 2:
            raise ValueError("a choice question needs at least two options")
        if self.type != "choice" and self.options:
            raise ValueError(f"options are only for choice questions, not {self.type}")
        return self


class Trigger(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    keywords: tuple[str, ...] = ()

    @field_validator("keywords")
    @classmethod
    def _not_blank(cls, keywords: tuple[str, ...]) -> tuple[str, ...]:
        if any(not keyword(k) for k in keywords):
            raise ValueError("a keyword must contain a letter or a digit")
        return keywords


class ExternalApi(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(pattern=r"^https?://")
    secret_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)


class Flow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1)
    language: Language = "es"
    trigger: Trigger = Trigger()
    questions: tuple[Question, ...] = Field(min_length=1)
    external_api: ExternalApi | None = None
    final_message: Text | None = None

    @model_validator(mode="before")
    @classmethod
    def _texts_in_flow_language(cls, data: Any) -> Any:
        """Plain strings are texts in the flow's language."""
        if not isinstance(data, dict):
            return data
        language = data.get("language", "es")
        data = dict(data)
        if "final_message" in data:
            data["final_message"] = localized(data["final_message"], language)
        questions = data.get("questions")
        if isinstance(questions, list):
            data["questions"] = [_question_texts(q, language) for q in questions]
        return data

    @model_validator(mode="after")
    def _unique_question_ids(self) -> Flow:
        seen: set[str] = set()
        for question in self.questions:
            if question.id in seen:
                raise ValueError(f"question id {question.id!r} is used twice")
            seen.add(question.id)
        return self

    @property
    def keywords(self) -> frozenset[str]:
        return frozenset(keyword(k) for k in self.trigger.keywords)


def _question_texts(question: Any, language: str) -> Any:
    if not isinstance(question, dict):
        return question
    question = dict(question)
    for name in ("text", "hint"):
        if name in question and question[name] is not None:
            question[name] = localized(question[name], language)
    if isinstance(question.get("options"), list):
        question["options"] = [localized(o, language) for o in question["options"]]
    return question


def question_from_json(data: Any, language: str) -> Question:
    """A question sent by a flow's outside API (`additional_questions`), in the same format."""
    return Question.model_validate(_question_texts(data, language))


FlowError = FileProblem


class InvalidFlows(InvalidFile):
    """Every problem of the flow files, with file and line."""


@dataclass(frozen=True)
class FlowSet:
    flows: tuple[Flow, ...] = ()

    def get(self, flow_id: str) -> Flow | None:
        return next((f for f in self.flows if f.id == flow_id), None)

    def triggered_by(self, text: str | None) -> Flow | None:
        """The flow whose keyword is this whole message (any case, accents ignored)."""
        if not text:
            return None
        said = keyword(text)
        return next((f for f in self.flows if said in f.keywords), None)


def load_flow(path: Path) -> Flow:
    """One flow file, or :class:`InvalidFlows` with every problem, by line."""
    source = read_text(path, InvalidFlows)
    node, data = parse_mapping(
        source, path, InvalidFlows, "a flow file is a mapping (id, name, questions…)"
    )
    try:
        return Flow.model_validate(data)
    except ValidationError as exc:
        found = exc.errors()

        def said_below(error: dict[str, Any]) -> bool:
            # "no questions left" only because each one failed: those errors say why.
            return error["type"] == "too_short" and any(
                len(other["loc"]) > len(error["loc"])
                and other["loc"][: len(error["loc"])] == error["loc"]
                for other in found
            )

        raise InvalidFlows(problems(exc, node, path, "flow", said_below)) from exc


def load_flows(directory: Path) -> FlowSet:
    """Every ``*.yaml``/``*.yml`` in ``directory`` (none if it does not exist), all checked."""
    if not directory.is_dir():
        return FlowSet()
    errors: list[FlowError] = []
    loaded: list[tuple[Path, Flow]] = []
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        try:
            loaded.append((path, load_flow(path)))
        except InvalidFlows as exc:
            errors.extend(exc.errors)
    first_file: dict[str, Path] = {}
    first_flow: dict[str, str] = {}
    for path, flow in loaded:
        other_file = first_file.setdefault(flow.id, path)
        if other_file != path:
            errors.append(FlowError(path, None, f"flow id {flow.id!r} is also in {other_file}"))
        for word in sorted(flow.keywords):
            other = first_flow.setdefault(word, flow.id)
            if other != flow.id:
                errors.append(FlowError(path, None, f"keyword {word!r} also starts {other}"))
    if errors:
        raise InvalidFlows(errors)
    return FlowSet(tuple(flow for _, flow in loaded))
