from django.urls import path

from bench.peer import views

urlpatterns = [
    path("q/<str:slug>/", views.detail, name="detail"),
    path("q/<str:slug>/vote/", views.vote, name="vote"),
]
