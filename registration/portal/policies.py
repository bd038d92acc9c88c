"""The portal's privacy and terms pages, open to everyone."""

from django.conf import settings
from django.shortcuts import render


def privacy(request):
    """Say what the portal keeps, who sees it, and where the practice's HIPAA notice is."""
    return render(
        request,
        "portal/privacy.html",
        {"notice_url": settings.PRIVACY_NOTICE_URL, "privacy_contact": settings.PRIVACY_CONTACT},
    )


def terms(request):
    return render(request, "portal/terms.html")
