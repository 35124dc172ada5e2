from __future__ import annotations

from django.apps import AppConfig


class BeebetaConfig(AppConfig):
    """The project's own package as an app, for its system checks (beebeta/checks.py)."""

    name = "beebeta"
    verbose_name = "Beebeta"

    def ready(self) -> None:
        from beebeta import checks  # noqa: F401  (registers the checks)
