"""The visa number sequence, the append-only guards, and the seeded refusal reasons."""

import json
from pathlib import Path

from django.db import migrations

REASONS = Path(__file__).resolve().parents[1] / "data" / "refusal_reasons.json"

# UPDATE is refused on the audit tables; DELETE stays possible for retention (purging an old
# case removes its history with it, by design).
APPEND_ONLY = """
CREATE OR REPLACE FUNCTION kvisa_refuse_update() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER reviews_caseaccess_append_only BEFORE UPDATE ON reviews_caseaccess
    FOR EACH ROW EXECUTE FUNCTION kvisa_refuse_update();
CREATE TRIGGER applications_timelineevent_append_only BEFORE UPDATE ON applications_timelineevent
    FOR EACH ROW EXECUTE FUNCTION kvisa_refuse_update();
"""
APPEND_ONLY_REVERSE = """
DROP TRIGGER IF EXISTS reviews_caseaccess_append_only ON reviews_caseaccess;
DROP TRIGGER IF EXISTS applications_timelineevent_append_only ON applications_timelineevent;
DROP FUNCTION IF EXISTS kvisa_refuse_update();
"""


def seed_reasons(apps, schema_editor):
    model = apps.get_model("reviews", "RefusalReason")
    for row in json.loads(REASONS.read_text(encoding="utf-8")):
        model.objects.update_or_create(code=row["code"], defaults=row)


def unseed_reasons(apps, schema_editor):
    apps.get_model("reviews", "RefusalReason").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0001_initial"),
        ("applications", "0003_application_application_unrouted_idx"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE SEQUENCE IF NOT EXISTS reviews_visa_number_seq START 1 MAXVALUE 99999999",
            "DROP SEQUENCE IF EXISTS reviews_visa_number_seq",
        ),
        migrations.RunSQL(APPEND_ONLY, APPEND_ONLY_REVERSE),
        migrations.RunPython(seed_reasons, unseed_reasons),
    ]
