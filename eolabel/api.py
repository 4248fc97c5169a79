"""API plumbing shared by every app: one error shape for every 4xx/5xx."""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class DatabaseUnavailable(exceptions.APIException):
    """The database could not be reached or dropped the connection; nothing was stored."""

    status_code = 503
    default_detail = (
        "the database is unavailable right now; nothing was stored. Retry the same request "
        "(with the same submission id) in a moment."
    )
    default_code = "database_unavailable"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with every error body shaped ``{"detail": str, "errors": {...}}``."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or "Permission denied.")
    elif isinstance(exc, DatabaseError) and not isinstance(exc, IntegrityError):
        # A cut connection, a timeout, a locked SQLite file: the request's atomic block rolled back, so the
        # client can safely retry; say so instead of a bare 500 (DRF's handler rolls an atomic request back).
        # Integrity errors are bugs or races the services handle themselves: they stay 500.
        logger.warning("database error answered with 503: %s", exc)
        exc = DatabaseUnavailable()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, DatabaseUnavailable):
        response["Retry-After"] = "2"
    data = response.data
    if isinstance(data, dict) and set(data) == {"detail"}:
        response.data = {"detail": str(data["detail"])}
    else:
        response.data = {"detail": _summary(data), "errors": data}
    return response


def _summary(data: Any) -> str:
    """One readable line naming the first offending field."""
    if isinstance(data, dict):
        for key, value in data.items():
            inner = _summary(value)
            return inner if key == "non_field_errors" else f"{key}: {inner}"
    if isinstance(data, list) and data:
        return _summary(data[0])
    return str(data)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 404 handler (no URL matched, e.g. ``/api/tasks/undefined``): the API's JSON error shape under
    /api/ and /tiles/, Django's page elsewhere."""
    if request.path.startswith(("/api/", "/tiles/")):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)
