"""The signed-in visitor's account, from memcached instead of MySQL on every request.

Django's AuthenticationMiddleware reads the user's row on every request of a signed-in visitor,
to check that the session still belongs to the account as it is (its hash of the password). The
row changes rarely, so it is kept in memcached for USER_CACHE_SECONDS, without the password hash:
its fields and the session hash Django would compute from it (the same value the session itself
holds). A request whose session carries exactly that hash gets the account from the cache, with
the password left deferred (a form that checks it reads it from MySQL); anything else (no entry,
another hash, a rotated secret key, an unknown backend) goes through Django's own ``get_user``
unchanged. Every save or deletion of an account drops its entry (accounts/signals.py), so a ban,
a new password or an edit applies at once; a drop lost to a dead memcached node is bounded by
the expiry.
"""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.core.cache import cache
from django.db.models import Model
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

from polls import cache_keys

USER_CACHE_SECONDS = 60


def _fields(model: type[Model]) -> list[str]:
    return [field.attname for field in model._meta.concrete_fields if field.attname != "password"]


def get_user(request: HttpRequest) -> Any:
    """The request's user, as ``django.contrib.auth.get_user`` returns it."""
    session = request.session
    try:
        user_id = auth._get_user_session_key(request)  # type: ignore[attr-defined]
        backend = session[auth.BACKEND_SESSION_KEY]
        session_hash = session[auth.HASH_SESSION_KEY]
    except KeyError:
        return auth.get_user(request)
    if backend not in settings.AUTHENTICATION_BACKENDS:
        return auth.get_user(request)
    key = cache_keys.user(user_id)
    cached = cache.get(key)
    if cached is not None and constant_time_compare(session_hash, cached["session_hash"]):
        model = auth.get_user_model()
        names = _fields(model)
        # Every field but the password, which stays deferred.
        return model.from_db("default", names, [cached["fields"][name] for name in names])
    user = auth.get_user(request)
    if user.is_authenticated and user.pk == user_id:
        entry = {
            "fields": {name: getattr(user, name) for name in _fields(type(user))},
            "session_hash": user.get_session_auth_hash(),
        }
        cache.set(key, entry, USER_CACHE_SECONDS)
    return user


def forget_user(user_id: Any) -> None:
    cache.delete(cache_keys.user(user_id))


class _UserRequest(HttpRequest):
    _cached_user: Any


class SessionUserMiddleware(AuthenticationMiddleware):
    """Django's AuthenticationMiddleware, with ``request.user`` from ``get_user`` above."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)

        def user() -> Any:
            # Read once per request, as Django's own middleware keeps it.
            if not hasattr(request, "_cached_user"):
                cast(_UserRequest, request)._cached_user = get_user(request)
            return cast(_UserRequest, request)._cached_user

        request.user = SimpleLazyObject(user)  # type: ignore[assignment]
