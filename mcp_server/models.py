"""Tool inputs and outputs that exist only at the MCP door (the core speaks `schemas`)."""

from __future__ import annotations

import base64
import binascii

from pydantic import Field, model_validator

from oratio.errors import InvalidInput
from schemas import DocumentContent, DocumentFormat, Limits, Model


class DocumentInput(Model):
    """A document for the knowledge base: `text` for Markdown/text/HTML, `base64` for PDFs."""

    name: str = Field(
        min_length=1,
        max_length=256,
        pattern=r"^[^\x00-\x1f/\\]+$",
        description="File name without folders, e.g. refund_policy.md",
    )
    format: DocumentFormat
    text: str | None = Field(default=None, max_length=Limits.DOCUMENT_BYTES_MAX)
    base64: str | None = Field(default=None, max_length=Limits.DOCUMENT_BYTES_MAX * 4 // 3 + 4)

    @model_validator(mode="after")
    def _exactly_one_content(self) -> DocumentInput:
        if (self.text is None) == (self.base64 is None):
            raise ValueError("give exactly one of 'text' or 'base64'")
        return self

    def to_content(self) -> DocumentContent:
        if self.text is not None:
            data = self.text.encode("utf-8")
        else:
            assert self.base64 is not None
            try:
                data = base64.b64decode(self.base64, validate=True)
            except (binascii.Error, ValueError):
                raise InvalidInput(f"document '{self.name}': base64 content is not valid", field="base64") from None
        if not data:
            raise InvalidInput(f"document '{self.name}' is empty", field="content")
        if len(data) > Limits.DOCUMENT_BYTES_MAX:
            raise InvalidInput(f"document '{self.name}' is over {Limits.DOCUMENT_BYTES_MAX} bytes", field="content")
        return DocumentContent(name=self.name, format=self.format, content=data)


class Deleted(Model):
    id: str
    deleted: bool = True
