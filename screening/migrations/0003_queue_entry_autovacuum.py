"""Vacuum the queue table after a fixed number of dead rows, not a share of it.

Every claim leaves a dead entry at the front of the claimable index (state is in the index
condition, so the update is never in place), exactly where the next claim starts reading. With
the default scale factor autovacuum waits for ~20 % of a table that only grows (done entries
stay), so claims slow down between vacuums: measured at 1M cases, 15 → 420 buffers a claim
after 60,000 claims, and back to 5 after a VACUUM of 0.5 s (bench/README.md).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("screening", "0002_second_review_and_one_held_case")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE screening_queueentry SET ("
            "autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000, "
            "autovacuum_analyze_scale_factor = 0.02)",
            "ALTER TABLE screening_queueentry RESET ("
            "autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, "
            "autovacuum_analyze_scale_factor)",
        )
    ]
