"""A FULLTEXT index for search on MySQL/MariaDB; SQLite searches without one."""

from django.db import migrations

INDEX = "question_search_text"


def add_fulltext(apps, schema_editor):
    if schema_editor.connection.vendor == "mysql":
        schema_editor.execute(
            f"ALTER TABLE polls_question ADD FULLTEXT INDEX {INDEX} (search_text)"
        )


def drop_fulltext(apps, schema_editor):
    if schema_editor.connection.vendor == "mysql":
        schema_editor.execute(f"ALTER TABLE polls_question DROP INDEX {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("polls", "0001_initial")]

    # DDL cannot run inside a transaction on MySQL.
    atomic = False
    operations = [migrations.RunPython(add_fulltext, drop_fulltext, atomic=False)]
