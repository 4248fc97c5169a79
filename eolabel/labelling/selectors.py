"""Labelling reads: the projects a user has a role in, progress, tasks and annotations with what they need to
render, and the annotation sets the trainer reads (training vs held-out validation chips)."""

from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Count, OuterRef, QuerySet, Subquery

from eolabel.labelling.errors import NotFound
from eolabel.labelling.models import Annotation, Lease, Membership, Project, ProjectChip


@dataclass(frozen=True)
class Progress:
    chips: int
    available: int
    leased: int
    done: int
    validation_chips: int
    annotations: int


def project_list_for(*, user: AbstractBaseUser) -> QuerySet[Project]:
    """Projects where the user has a role, each annotated with ``my_role``."""
    role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
    return (
        Project.objects.annotate(my_role=Subquery(role))
        .filter(my_role__isnull=False)
        .prefetch_related("sensors")
        .order_by("-created", "id")
    )


def project_progress(*, project: Project) -> Progress:
    states = dict(
        ProjectChip.objects.filter(project=project)
        .order_by()
        .values("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    return Progress(
        chips=sum(states.values()),
        available=states.get(ProjectChip.State.AVAILABLE, 0),
        leased=states.get(ProjectChip.State.LEASED, 0),
        done=states.get(ProjectChip.State.DONE, 0),
        validation_chips=ProjectChip.objects.filter(project=project, is_validation=True).count(),
        annotations=Annotation.objects.filter(project=project).count(),
    )


def project_members(*, project: Project) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(project=project).select_related("user").order_by("role", "user__username")
    )


def lease_get(*, lease_id: int) -> Lease:
    """A lease with its chip, scene and sensor loaded; NotFound when there is none."""
    lease = (
        Lease.objects.select_related("project", "project_chip__chip__scene__sensor", "user")
        .filter(pk=lease_id)
        .first()
    )
    if lease is None:
        raise NotFound("no such task")
    return lease


def annotation_get(*, annotation_id: int) -> Annotation:
    annotation = (
        Annotation.objects.select_related(
            "project", "project_chip__chip__scene", "author", "updated_by", "lease"
        )
        .filter(pk=annotation_id)
        .first()
    )
    if annotation is None:
        raise NotFound("no such annotation")
    return annotation


def annotations_for_training(*, project: Project) -> QuerySet[Annotation]:
    """Annotations the model may learn from: every chip except the held-out validation split."""
    return Annotation.objects.filter(project=project, project_chip__is_validation=False).select_related(
        "project_chip__chip"
    )


def annotations_for_validation(*, project: Project) -> QuerySet[Annotation]:
    """Annotations of held-out chips: for evaluation only, never for training."""
    return Annotation.objects.filter(project=project, project_chip__is_validation=True).select_related(
        "project_chip__chip"
    )
