from __future__ import annotations

from django.conf import settings
from django.db import models

# Each peer has its own tables in the shared database: peer_tutorial_choice, peer_dedupe_choice...
PREFIX = f"peer_{settings.PEER_NAME}"


class Question(models.Model):
    slug = models.SlugField(max_length=255, unique=True)
    question_text = models.CharField(max_length=255)
    pub_date = models.DateTimeField("date published")

    class Meta:
        db_table = f"{PREFIX}_question"

    def __str__(self) -> str:
        return self.question_text


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE)
    choice_text = models.CharField(max_length=200)
    votes = models.IntegerField(default=0)

    class Meta:
        db_table = f"{PREFIX}_choice"

    def __str__(self) -> str:
        return self.choice_text


class Vote(models.Model):
    """The dedupe peer's one vote per person and question."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    question = models.ForeignKey(Question, on_delete=models.CASCADE)
    choice = models.ForeignKey(Choice, on_delete=models.CASCADE)

    class Meta:
        db_table = f"{PREFIX}_vote"
        constraints = [
            models.UniqueConstraint(fields=["user", "question"], name=f"{PREFIX}_one_vote_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.question_id}"
