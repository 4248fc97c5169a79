"""The project's models in ``ml.registry``: one registry name per project under MODEL_REGISTRY_ROOT."""

from django.conf import settings

from ml.registry import Registry


def project_registry() -> Registry:
    return Registry(settings.MODEL_REGISTRY_ROOT)


def registry_name(*, project_id: int) -> str:
    """``project-<id>``: version ids read ``project-<id>/v<N>``."""
    return f"project-{project_id}"
