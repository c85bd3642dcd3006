"""``manage.py seed_demo``: demo data for development and review, never for production.

Runs ``<app>.demo.seed_demo()`` for every installed app that has one, in INSTALLED_APPS order,
inside one transaction, and prints the tables they return. Safe to run again: every seeder
is idempotent.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.module_loading import module_has_submodule

from accounts.demo import DemoSection


def _seeders() -> list[Any]:
    found = []
    for app_config in apps.get_app_configs():
        if module_has_submodule(app_config.module, "demo"):
            module = import_module(f"{app_config.name}.demo")
            if hasattr(module, "seed_demo"):
                found.append(module.seed_demo)
    return found


def _table(section: DemoSection) -> str:
    widths = [
        max(len(str(cell)) for cell in column)
        for column in zip(section.headers, *section.rows, strict=True)
    ]
    lines = [section.title, ""]
    for row in (section.headers, tuple("-" * width for width in widths), *section.rows):
        cells = zip(row, widths, strict=True)
        lines.append("  ".join(str(cell).ljust(width) for cell, width in cells).rstrip())
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Create or restore the demo data (refuses when KVISA_ENV=production)."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.KVISA_ENV == "production":
            raise CommandError(
                "seed_demo refuses to run with KVISA_ENV=production: "
                "its passwords and TOTP secrets are public."
            )
        with transaction.atomic():
            sections = [section for seed in _seeders() for section in seed()]
        for section in sections:
            self.stdout.write(_table(section) + "\n\n")
