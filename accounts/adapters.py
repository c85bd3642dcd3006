"""allauth hooks. Each one only hands over to a service or fixes how a link is built."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import translation

from accounts.services import user_complete_signup


def _on_site(url: str) -> str:
    """Rebase an absolute URL onto settings.SITE_URL.

    allauth builds links from the request's Host header; a link in an email (verification,
    password reset) must point at our public origin whatever Host a request claimed.
    """
    parts = urlsplit(url)
    return settings.SITE_URL + urlunsplit(("", "", parts.path, parts.query, parts.fragment))


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        """Save a self-service sign-up and finish it (applicant role, language) atomically.

        With ``commit=False`` the caller saves the user itself and nothing is finished here;
        allauth's own sign-up form always commits.
        """
        with transaction.atomic():
            user = super().save_user(request, user, form, commit=commit)
            if commit:
                user_complete_signup(user=user, language=translation.get_language())
        return user

    def get_email_confirmation_url(self, request: HttpRequest, emailconfirmation: Any) -> str:
        return _on_site(super().get_email_confirmation_url(request, emailconfirmation))

    def get_reset_password_from_key_url(self, key: str) -> str:
        return _on_site(super().get_reset_password_from_key_url(key))

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        # Our email templates sign off with the public address (templates/account/email/).
        super().send_mail(template_prefix, email, {**context, "site_url": settings.SITE_URL})
