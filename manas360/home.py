"""`/`: a small page for people who open the service's address (and the admin's "View site" link)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"version": settings.VERSION, "debug": settings.DEBUG})
