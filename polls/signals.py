"""Keep the cached question pages and the search column in step with edits,
and the counters with deleted accounts.

Saves from the admin and the services go through the model, so these
receivers see every change of a question, its choices and its tags.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver

from polls import cache_keys, reads, services, share_card
from polls.models import Choice, Question, Tag
from polls.search import refresh_search_text


def _forget(question: Question) -> None:
    if question.slug:
        # After the commit too: a moderation service or an admin form saves inside a transaction.
        reads.forget([cache_keys.question(question.slug)])


@receiver(post_save, sender=Question)
def question_saved(sender, instance: Question, update_fields=None, **kwargs) -> None:
    _forget(instance)
    if update_fields is None or {"title", "description"} & set(update_fields):
        refresh_search_text(instance.pk)
    if not instance.is_public and instance.published_at is not None:
        # Hidden (or back in review) after being public: its share cards go too.
        pk = instance.pk
        transaction.on_commit(lambda: share_card.forget_cards(pk))


@receiver(post_delete, sender=Question)
def question_deleted(sender, instance: Question, **kwargs) -> None:
    _forget(instance)
    pk = instance.pk
    transaction.on_commit(lambda: share_card.forget_cards(pk))


@receiver([post_save, post_delete], sender=Choice)
def choice_changed(sender, instance: Choice, **kwargs) -> None:
    question = Question.objects.filter(pk=instance.question_id).only("slug").first()
    if question is not None:
        _forget(question)
        refresh_search_text(question.pk)


@receiver(m2m_changed, sender=Question.tags.through)
def tags_changed(sender, instance, action: str, **kwargs) -> None:
    if action.startswith("post_") and isinstance(instance, Question):
        _forget(instance)
        refresh_search_text(instance.pk)


@receiver(post_save, sender=Tag)
def tag_saved(sender, instance: Tag, created: bool, **kwargs) -> None:
    # A renamed tag is found by its new name. Renaming happens in the admin, rarely: one
    # refresh per question of the tag is affordable there.
    if not created:
        for question_id in instance.questions.values_list("pk", flat=True):
            refresh_search_text(question_id)


@receiver(pre_delete, sender=get_user_model())
def user_deleted(sender, instance, **kwargs) -> None:
    # Deleting an account removes its votes; withdraw them through the
    # service first so the counters and rankings stay equal to the rows.
    services.withdraw_votes(user=instance)
