"""Sign-up and activation, under django-registration's own URL names.

Included without a namespace: django-registration reverses these names
("django_registration_complete", ...) itself.
"""

from __future__ import annotations

from django.urls import path
from django.views.generic import TemplateView

from accounts import views

urlpatterns = [
    path("register/", views.SignUpView.as_view(), name="django_registration_register"),
    path(
        "register/complete/",
        views.registration_complete,
        name="django_registration_complete",
    ),
    path(
        "register/closed/",
        TemplateView.as_view(template_name="django_registration/registration_closed.html"),
        name="django_registration_disallowed",
    ),
    path("activate/", views.ActivationView.as_view(), name="django_registration_activate"),
    path("activate/again/", views.resend_activation, name="django_registration_resend"),
    path(
        "activate/complete/",
        TemplateView.as_view(template_name="django_registration/activation_complete.html"),
        name="django_registration_activation_complete",
    ),
]
