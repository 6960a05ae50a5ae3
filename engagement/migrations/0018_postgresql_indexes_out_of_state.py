"""The search's GIN indexes stay in the database but leave the models' state.

SQLite rebuilds a table for most column changes and recreates every index the state declares;
these are PostgreSQL's own (GIN, trigram, to_tsvector) and would break that rebuild. They are
built by 0015 on PostgreSQL only; nothing here touches the database.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("engagement", "0017_workbench_county_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="business", name="business_name_trgm_idx"),
                migrations.RemoveIndex(model_name="business", name="business_postcode_trgm_idx"),
                migrations.RemoveIndex(model_name="concern", name="concern_words_idx"),
            ],
        ),
    ]
