from django.db import models

from applications.crypto import EncryptedTextField


class Secret(models.Model):
    """One encrypted column, nullable so NULL handling is covered too."""

    value = EncryptedTextField(null=True, blank=True)  # NULL and "" both under test

    def __str__(self) -> str:
        return f"secret {self.pk}"
