from django.db import migrations

BATCH = 500


def add_tag_names(apps, schema_editor):
    """Search reads tag names from search_text now (polls.search.refresh_search_text): put them
    in for the questions that have tags."""
    Question = apps.get_model("polls", "Question")
    Choice = apps.get_model("polls", "Choice")
    Through = Question.tags.through
    ids = sorted(set(Through.objects.values_list("question_id", flat=True)))
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        choices, tags = {}, {}
        for question_id, text in (
            Choice.objects.filter(question_id__in=batch)
            .order_by("position", "id")
            .values_list("question_id", "text")
        ):
            choices.setdefault(question_id, []).append(text)
        for question_id, name in Through.objects.filter(question_id__in=batch).values_list(
            "question_id", "tag__name"
        ):
            tags.setdefault(question_id, []).append(name)
        for question in Question.objects.filter(pk__in=batch).only("title", "description"):
            parts = [question.title, question.description]
            parts += choices.get(question.pk, []) + tags.get(question.pk, [])
            Question.objects.filter(pk=question.pk).update(search_text="\n".join(parts))


class Migration(migrations.Migration):
    dependencies = [
        ("polls", "0006_card_leader_and_review_hold"),
    ]

    operations = [
        migrations.RunPython(add_tag_names, migrations.RunPython.noop),
    ]
