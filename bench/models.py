"""The baselines' one table (``bench_document``), created by bench.baselines.tables_create.

Not a migration: the bench is no app of the project. The model is unmanaged and carries its
app label, so Django registers it without "bench" in INSTALLED_APPS."""

from __future__ import annotations

from django.db import models


class BenchDocument(models.Model):
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects: models.Manager[BenchDocument] = models.Manager()

    class Meta:
        app_label = "bench"
        db_table = "bench_document"
        managed = False

    def __str__(self) -> str:
        return f"bench document {self.pk}"
