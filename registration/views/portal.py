"""The parent portal (built out in the parent-portal issue)."""

from django.shortcuts import render


def start(request):
    return render(request, "portal/start.html")


def pin_start(request):
    return render(request, "portal/pin_start.html")
