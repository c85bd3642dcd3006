"""``manage.py create_api_client --name NAME --scopes SCOPE[,SCOPE…]``: an integration client
and its first token, printed once (only its hash is stored)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Scope
from accounts.services import api_client_create, api_token_issue


class Command(BaseCommand):
    help = "Create an API integration client with the given scopes and print its first token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="The client's name (unique).")
        parser.add_argument(
            "--scopes",
            required=True,
            help="Comma-separated scopes: " + ", ".join(Scope.values),
        )
        parser.add_argument("--contact-email", default="", help="Who to tell about the client.")

    def handle(self, *args: Any, **options: Any) -> None:
        scopes = [s.strip() for s in options["scopes"].split(",") if s.strip()]
        try:
            client = api_client_create(
                name=options["name"], scopes=scopes, contact_email=options["contact_email"]
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        token, plain = api_token_issue(user=client.user, label="created by create_api_client")
        self.stdout.write(f"Client: {client.name} (scopes: {', '.join(client.scopes)})")
        self.stdout.write(f"Token (shown once, store it now): {plain}")
        expiry = f"{token.expiry:%Y-%m-%d}" if token.expiry else "never"
        self.stdout.write(f"Expires: {expiry}")
