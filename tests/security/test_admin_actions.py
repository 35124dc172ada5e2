"""Every admin action by role: superuser, moderator (the "Moderators" group the migrations ship),
view-only staff and member.

The actions are read from the admin site itself, so a new action fails
test_every_action_is_in_the_table until it is given its roles here. Each is then sent as the
crafted POST a person would forge (the changelist's action form, whatever the page offered them),
and the database is compared before and after: a role the table does not allow changes nothing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from post_office.models import STATUS, Email

from accounts.models import Ban
from polls import services
from polls.models import Question, Report, Tag

User = get_user_model()

SUPERUSER, MODERATOR, VIEWER, MEMBER = "superuser", "moderator", "view-only staff", "member"
ROLES = (SUPERUSER, MODERATOR, VIEWER, MEMBER)

MODERATION = {
    ("polls.question", "publish"),
    ("polls.question", "hide"),
    ("polls.question", "close"),
    ("polls.moderationqueue", "approve"),
    ("polls.moderationqueue", "hide_for_good"),
    ("polls.moderationqueue", "ban_author"),
    ("polls.report", "resolve"),
    ("auth.user", "ban_selected"),
}
# Other apps' actions, given a permission in accounts/admin.py.
HOUSEKEEPING = {
    ("axes.accessattempt", "cleanup_expired_attempts"),
    ("post_office.email", "requeue"),
}
# Django's own delete action, on some of Beebeta's models (every admin's is checked by
# test_every_action_declares_its_permission).
DELETING = {
    ("polls.question", "delete_selected"),
    ("polls.report", "delete_selected"),
    ("polls.tag", "delete_selected"),
    ("accounts.ban", "delete_selected"),
    ("auth.user", "delete_selected"),
}
# Who may run each action. View-only staff and members may run none.
ALLOWED = {
    SUPERUSER: MODERATION | HOUSEKEEPING | DELETING,
    MODERATOR: MODERATION,
    VIEWER: set(),
    MEMBER: set(),
}


def site_actions() -> set[tuple[str, str]]:
    found = set()
    for model, model_admin in admin.site._registry.items():
        for _, name, _ in model_admin._get_base_actions():
            found.add((model._meta.label_lower, name))
    return found


def test_every_action_is_in_the_table():
    own = {action for action in site_actions() if action[1] != "delete_selected"}
    assert own == MODERATION | HOUSEKEEPING
    assert DELETING <= site_actions()


def test_every_action_declares_its_permission():
    for model, model_admin in admin.site._registry.items():
        for func, name, _ in model_admin._get_base_actions():
            required = getattr(func, "allowed_permissions", ())
            assert required, f"{model._meta.label}: action {name} declares no permission"
            for permission in required:
                assert hasattr(model_admin, f"has_{permission}_permission"), (name, permission)


def test_the_moderators_group_is_shipped_with_its_permissions(db):
    codenames = set(Group.objects.get(name="Moderators").permissions.values_list("codename"))
    codenames = {codename for (codename,) in codenames}
    assert {"change_moderationqueue", "change_question", "change_report", "add_ban"} <= codenames
    # Nothing that deletes, and no editing of accounts (a way to make oneself superuser).
    assert not {c for c in codenames if c.startswith("delete_")}
    assert "change_user" not in codenames


@pytest.fixture
def people(db) -> dict[str, User]:
    def make(username: str, **extra) -> User:
        return User.objects.create_user(
            username=username, email=f"{username}@example.com", password="pw", **extra
        )

    moderator = make("mona", is_staff=True)
    moderator.groups.add(Group.objects.get(name="Moderators"))
    viewer = make("vic", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    return {
        SUPERUSER: make("root", is_staff=True, is_superuser=True),
        MODERATOR: moderator,
        VIEWER: viewer,
        MEMBER: make("mel"),
    }


@pytest.fixture
def clients(people) -> dict[str, Client]:
    """A client logged in as each role (before the targets exist: django-axes clears login
    attempts when someone logs in)."""
    clients = {}
    for role, user in people.items():
        clients[role] = Client()
        clients[role].force_login(user)
    return clients


@pytest.fixture
def targets(make_question, clients) -> dict[str, object]:
    """One row for each admin to act on: a pending question, a reported one by bob, its
    report, bob, a ban of carol, a tag."""
    bob, carol, reporter = (
        User.objects.create_user(username=name, password="pw") for name in ("bob", "carol", "rey")
    )
    pending = make_question("Is this fine to publish?", ("Yes", "No"), author=bob, status="pending")
    reported = make_question("Is this rude?", ("Yes", "No"), author=bob)
    services.report_question(question=reported, reporter=reporter, reason="spam")
    Ban.objects.create(user=carol, reason="spam")
    expired = timezone.now() - timedelta(days=2)
    attempt = AccessAttempt.objects.create(
        ip_address="192.0.2.1", username="bob", failures_since_start=9
    )
    # Its time is set on creation, whatever is given.
    AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=expired)
    sent = Email.objects.create(
        from_email="beebeta@example.com", to=["bob@example.com"], subject="Hi", status=STATUS.sent
    )
    return {
        "axes.accessattempt": attempt,
        "post_office.email": sent,
        "polls.question": pending,
        "polls.moderationqueue": reported,
        "polls.report": Report.objects.get(),
        "auth.user": bob,
        "accounts.ban": Ban.objects.get(),
        "polls.tag": Tag.objects.create(name="Food", slug="food"),
    }


def database_state() -> tuple:
    """What any admin action could change, as one comparable value."""
    return (
        sorted(Question.objects.values_list("pk", "status")),
        sorted(Report.objects.values_list("pk", "resolved_at")),
        sorted(Ban.objects.values_list("user_id", flat=True)),
        sorted(User.objects.values_list("pk", "is_active")),
        sorted(Tag.objects.values_list("pk", flat=True)),
        sorted(AccessAttempt.objects.values_list("pk", flat=True)),
        sorted(Email.objects.values_list("pk", "status")),
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(MODERATION | HOUSEKEEPING | DELETING))
def test_a_crafted_action_post_changes_only_what_the_role_may(role, action, clients, targets):
    label, name = action
    client = clients[role]
    target = targets[label]
    before = database_state()
    url = reverse(f"admin:{label.replace('.', '_')}_changelist")
    # "post": the confirmation of delete_selected, sent at once as a forger would.
    data = {"action": name, "_selected_action": [target.pk], "post": "yes"}
    response = client.post(url, data)
    assert response.status_code < 500
    if action in ALLOWED[role]:
        assert database_state() != before, f"{role} could not run {name} on {label}"
    else:
        assert database_state() == before, f"{role} ran {name} on {label}"
        if role == MEMBER:
            assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("decision", ["approve", "hide", "ban"])
def test_view_only_staff_cannot_decide_through_the_queue_address(decision, clients, targets):
    client = clients[VIEWER]
    before = database_state()
    url = reverse("admin:polls_moderationqueue_decide", args=[targets["polls.moderationqueue"].pk])
    assert client.post(url, {"decision": decision}).status_code == 403
    assert database_state() == before


def test_the_pages_offer_each_role_only_what_it_may_run(clients, targets):
    question = targets["polls.moderationqueue"]
    pages = [
        reverse("admin:polls_moderationqueue_changelist"),
        reverse("admin:polls_question_change", args=[question.pk]),
    ]
    for role, offered in ((MODERATOR, True), (VIEWER, False)):
        client = clients[role]
        for url in pages:
            html = client.get(url).content.decode()
            assert ('name="decision" value="ban"' in html) == offered, (role, url)
            assert ('name="decision" value="approve"' in html) == offered, (role, url)
        queue = client.get(pages[0]).content.decode()
        assert ('value="ban_author"' in queue) == offered, role
