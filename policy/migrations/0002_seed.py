"""Seed the governed lists and the initial policy version from policy/data/.

Later edits happen in the admin (or by CSV import); this runs once.
"""

import csv
import json
from pathlib import Path

from django.db import migrations
from django.utils import timezone

DATA = Path(__file__).resolve().parent.parent / "data"


def seed(apps, schema_editor):
    StemField = apps.get_model("policy", "StemField")
    Institution = apps.get_model("policy", "Institution")
    PolicyVersion = apps.get_model("policy", "PolicyVersion")
    with (DATA / "stem_fields.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            StemField.objects.get_or_create(code=row["code"], defaults=row)
    with (DATA / "institutions.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            Institution.objects.get_or_create(
                name_en=row["name_en"], country=row["country"],
                defaults={**row, "tier": int(row["tier"])},
            )
    policy = json.loads((DATA / "default_policy.json").read_text(encoding="utf-8"))
    if not PolicyVersion.objects.exists():
        PolicyVersion.objects.create(**policy, status="published", published_at=timezone.now())


class Migration(migrations.Migration):
    dependencies = [("policy", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
