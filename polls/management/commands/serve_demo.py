"""runserver that says, once it listens, where Beebeta is and how to log in (`make run`)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.staticfiles.management.commands.runserver import Command as RunserverCommand
from django.db import connections

from polls.management.commands.seed_demo import LOGIN_USERS, demo_password

ROLES = {False: "a member", True: "a moderator: also /admin/ and /insights/"}
RULE = "-" * 72


class Command(RunserverCommand):
    help = "runserver, with a banner that gives the address and the demo log-ins."
    # Set by runserver's handle() from its address argument; its stubs do not declare them.
    addr: str
    _raw_ipv6: bool

    def on_bind(self, server_port: int) -> None:
        super().on_bind(server_port)
        self.stdout.write(self.banner(self.site_url(server_port)))
        # At once, even when the output is a pipe (a log, a script waiting for the banner).
        self.stdout.flush()

    def site_url(self, server_port: int) -> str:
        if self._raw_ipv6:
            host = f"[{self.addr}]"
        elif self.addr in ("0", "0.0.0.0"):  # noqa: S104  (reading the address, not binding)
            # Listening everywhere; this machine reaches it on loopback.
            host = "127.0.0.1"
        else:
            host = self.addr
        return f"{self.protocol}://{host}:{server_port}/"

    def banner(self, url: str) -> str:
        present = set(
            get_user_model()
            .objects.filter(username__in=LOGIN_USERS)
            .values_list("username", flat=True)
        )
        # The server thread opens its own connections; this one is not needed any more.
        connections.close_all()
        lines = [RULE, f"  Beebeta is ready: {url}", ""]
        if present:
            lines.append(f"  Log in with the password {demo_password()} as")
            width = max(len(name) for name in present)
            lines += [
                f"    {name:<{width}}  {ROLES[staff]}"
                for name, staff in LOGIN_USERS.items()
                if name in present
            ]
        else:
            lines.append("  No demo accounts yet: `manage.py seed_demo` creates them.")
        lines.append(RULE)
        return "\n".join(lines)
