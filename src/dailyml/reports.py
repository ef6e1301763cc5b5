"""The base of the core's report models: JSON that leaves out what does not apply."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, model_serializer
from pydantic_core.core_schema import SerializerFunctionWrapHandler


class Report(BaseModel):
    """A model whose JSON leaves out, rather than writing null, the fields named in
    ``omitted_when_none`` while they are None (e.g. per-group figures of a dataset without groups):
    the shape stored and printed before these reports were models."""

    omitted_when_none: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _json(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return self.shaped(handler(self))

    def shaped(self, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` (this model's fields, serialised) as its JSON: here, without the omitted Nones."""
        return {k: v for k, v in data.items() if not (k in self.omitted_when_none and v is None)}
