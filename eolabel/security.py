"""Security headers Django 5.2 does not set itself: an enforced Content-Security-Policy on every response.

The pages load their scripts and styles as files from this origin only (no inline script, no CDN); images may
also be ``data:`` and ``blob:`` URLs, which Leaflet's styles and the labelling canvas use. Non-HTML responses
carry the policy too: a file that a browser were tricked into rendering as a page could still run nothing.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

DEFAULT_POLICY: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "connect-src": "'self'",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


WEAK_KEY_PREFIXES = ("dev-only", "django-insecure", "change-me")


def secret_key_problem(key: str | None) -> str | None:
    """Why ``key`` cannot sign production sessions, or None. Mirrors Django's own deploy check (50+ characters,
    5+ distinct ones, not a generated development key) and refuses this project's development default."""
    if not key:
        return "is not set"
    if key.lower().startswith(WEAK_KEY_PREFIXES):
        return "is a development or placeholder key"
    if len(key) < 50 or len(set(key)) < 5:
        return "is too short or too repetitive (50+ characters, 5+ distinct)"
    return None


def csp_header(policy: dict[str, str]) -> str:
    """The header value of a directive -> sources mapping, in a stable order."""
    return "; ".join(f"{directive} {sources}".strip() for directive, sources in policy.items())


class ContentSecurityPolicyMiddleware:
    """Adds ``Content-Security-Policy`` (settings.EOLABEL_CSP, else DEFAULT_POLICY) unless a view set one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.header = csp_header(getattr(settings, "EOLABEL_CSP", DEFAULT_POLICY))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.header
        return response
