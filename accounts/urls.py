from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    # POST only (Django's LogoutView refuses GET since 5.0).
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/change/", views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/done/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    # A link from an email (a vote or sign-in, a new address): GET shows a button, POST uses it.
    path("link/<str:token>/", views.email_link, name="email_link"),
    path("link/<str:token>/again/", views.email_link_again, name="email_link_again"),
    path("check-email/", views.check_email, name="check_email"),
    path("profile/", views.profile, name="profile"),
    path("profile/data.json", views.profile_data, name="profile_data"),
    path("profile/email/", views.change_email, name="change_email"),
    path("profile/username/", views.change_username, name="change_username"),
    path("profile/delete/", views.delete_account, name="delete_account"),
]
