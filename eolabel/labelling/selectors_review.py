"""Review reads: the annotations of a project that wait for a reviewer, oldest first. An annotation waits while
nobody reviewed its current version (never reviewed, or edited by its author since); a reviewer never gets their
own annotations."""

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import F, Q, QuerySet

from eolabel.labelling.models import Annotation, Project


def annotations_to_review(*, project: Project, user: AbstractBaseUser) -> QuerySet[Annotation]:
    waiting = Q(reviewed_version__isnull=True) | ~Q(reviewed_version=F("version"))
    return (
        Annotation.objects.filter(project=project)
        .filter(waiting)
        .exclude(author=user)
        .select_related("project", "project_chip__chip__scene__sensor", "author", "updated_by", "lease")
        .order_by("pk")
    )


def annotation_to_review_next(
    *, project: Project, user: AbstractBaseUser, after: int | None = None
) -> Annotation | None:
    """The oldest annotation waiting for the user's review; ``after`` passes over those up to that id."""
    queue = annotations_to_review(project=project, user=user)
    if after is not None:
        queue = queue.filter(pk__gt=after)
    return queue.first()
