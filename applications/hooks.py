"""Extension points the applicant side calls without importing the apps above it.

Dependencies point one way (applications never imports screening or reviews), yet a
submission must be screened and an answered evidence request must put the case back in a
queue. The app that does that work connects a handler here in its ``AppConfig.ready()``.
Handlers run synchronously in the caller's transaction or task, so their failure is the
caller's failure: nothing is fire-and-forget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Hook:
    def __init__(self) -> None:
        self._handlers: list[Callable[..., Any]] = []

    def connect(self, handler: Callable[..., Any]) -> None:
        if handler not in self._handlers:
            self._handlers.append(handler)

    def __call__(self, **kwargs: Any) -> None:
        for handler in self._handlers:
            handler(**kwargs)


# Called by the application_submitted task with application_id=… (after commit).
submitted = Hook()
# Called inside evidence_answer's transaction with application=… and actor=…, after the case
# has moved back to `queued`.
evidence_answered = Hook()
# Called inside application_withdraw's transaction with application=… and actor=…, after the
# case has become `withdrawn`: its queue entry and any decision in flight end with it.
withdrawn = Hook()
# Called inside review_request_create's transaction with application=… and request=…: the
# officer side tells its supervisors.
review_requested = Hook()
