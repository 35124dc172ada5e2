from django.urls import path

from beebeta import urls
from bench import views

urlpatterns = [path("bench/hello/", views.hello), *urls.urlpatterns]
handler500 = urls.handler500
