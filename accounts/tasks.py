"""Celery tasks: one service call, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from accounts.services import api_tokens_purge_expired


@shared_task
def tokens_purge_expired() -> int:
    return api_tokens_purge_expired()
