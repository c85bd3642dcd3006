from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built without locking writes: at a million applications the build takes seconds, and
    # submissions must not wait for it.
    atomic = False

    dependencies = [
        ("applications", "0004_review_request"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="application",
            index=models.Index(fields=["-submitted_at", "-id"], name="application_case_list_idx"),
        ),
        AddIndexConcurrently(
            model_name="application",
            index=models.Index(
                fields=["status", "-submitted_at", "-id"], name="application_case_status_idx"
            ),
        ),
    ]
