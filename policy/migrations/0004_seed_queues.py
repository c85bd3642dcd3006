"""Seed the default review queues (service levels after the UK Global Talent standard:
about 8 weeks, fast track about 3). Administrators change them in the admin afterwards."""

import json
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data"


def seed(apps, schema_editor):
    ReviewQueue = apps.get_model("policy", "ReviewQueue")
    for row in json.loads((DATA / "review_queues.json").read_text(encoding="utf-8")):
        ReviewQueue.objects.get_or_create(code=row["code"], defaults=row)


class Migration(migrations.Migration):
    dependencies = [("policy", "0003_holiday_policyevent_reviewqueue")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
