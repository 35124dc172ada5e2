from __future__ import annotations

from django.apps import AppConfig


class PollsConfig(AppConfig):
    name = "polls"
    verbose_name = "Polls"

    def ready(self) -> None:
        from polls import signals  # noqa: F401  (connects cache invalidation)
