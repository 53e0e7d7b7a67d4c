"""A rejected form: raised (so the request's transaction rolls back) and rendered again with
the field messages and a 400 status by the exception handler."""

from __future__ import annotations

from typing import Any


class FormRejected(Exception):
    def __init__(self, template: str, context: dict[str, Any]) -> None:
        super().__init__(template)
        self.template = template
        self.context = context
