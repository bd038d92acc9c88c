from django.urls import path

from .views import portal

app_name = "portal"

urlpatterns = [
    path("", portal.start, name="start"),
    path("pin/", portal.pin_start, name="pin-start"),
]
