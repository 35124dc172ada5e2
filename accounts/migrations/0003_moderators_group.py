"""The "Moderators" group: staff put in it can work the moderation queue, resolve reports, edit
questions and ban members, and nothing more (no editing of accounts, which would let them make
themselves superusers; no deleting of questions or votes).

The permissions are named here as they stand at this migration, not imported from the apps, so
the group a fresh database gets does not change when the code does.
"""

from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Moderators"
PERMISSIONS = {
    "polls": [
        "view_moderationqueue",
        "change_moderationqueue",
        "view_question",
        "change_question",
        "view_choice",
        "change_choice",
        "view_report",
        "change_report",
        "view_tag",
        "view_ballot",
        "view_vote",
        "view_image",
    ],
    "accounts": ["view_ban", "add_ban", "change_ban"],
    "auth": ["view_user"],
}


def add_moderators(apps, schema_editor):
    # Django creates permissions after all migrations ran; on a fresh database they do not
    # exist yet, so create them now (it skips the ones that do).
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    for app_label, codenames in PERMISSIONS.items():
        found = Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        missing = set(codenames) - set(found.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"permissions missing for {GROUP}: {sorted(missing)}")
        group.permissions.add(*found)


def remove_moderators(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_email_key_held_votes_links"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("polls", "0009_results_history"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(add_moderators, remove_moderators)]
