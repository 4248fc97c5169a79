"""Who may do what in a project. One table, read by every view through ``project_access``.

Without a role in a project a user gets 404 for everything in it (its existence is not disclosed); with a role
that does not allow the action, 403. Staff status grants nothing inside a project: staff may create projects
(and become their managers) and use the Django admin.
"""

from enum import StrEnum

from django.contrib.auth.base_user import AbstractBaseUser

from eolabel.labelling.errors import Forbidden, NotFound
from eolabel.labelling.models import Annotation, Lease, Membership, Project, Role


class Action(StrEnum):
    VIEW = "view"  # see the project, its members and progress
    ANNOTATE = "annotate"  # lease tasks, submit and skip them, edit one's own annotations
    REVIEW = "review"  # see and edit everyone's annotations in the project
    MANAGE = "manage"  # change the project's settings, scenes and members


ALLOWED: dict[Action, frozenset[str]] = {
    Action.VIEW: frozenset({Role.ANNOTATOR, Role.REVIEWER, Role.MANAGER}),
    Action.ANNOTATE: frozenset({Role.ANNOTATOR, Role.MANAGER}),
    Action.REVIEW: frozenset({Role.REVIEWER, Role.MANAGER}),
    Action.MANAGE: frozenset({Role.MANAGER}),
}

REFUSALS: dict[Action, str] = {
    Action.VIEW: "you have no role in this project",
    Action.ANNOTATE: "only annotators and managers take and submit tasks",
    Action.REVIEW: "only reviewers and managers see and edit other people's annotations",
    Action.MANAGE: "only the project's managers may change it",
}


MAX_ID = 2**63 - 1  # the largest primary key a database column stores


def role_of(*, user: AbstractBaseUser, project_id: int) -> str | None:
    if not user.is_authenticated or not 0 < project_id <= MAX_ID:
        return None  # an id past bigint names no project (and would overflow the database driver)
    return Membership.objects.filter(project_id=project_id, user=user).values_list("role", flat=True).first()


def role_allows(*, role: str | None, action: Action) -> bool:
    return role is not None and role in ALLOWED[action]


def project_access(*, user: AbstractBaseUser, project_id: int, action: Action) -> tuple[Project, str]:
    """The project and the caller's role, or NotFound (no role / no project) or Forbidden (role too weak)."""
    role = role_of(user=user, project_id=project_id)
    project = Project.objects.filter(pk=project_id).first() if role else None
    if project is None:
        raise NotFound("no such project")
    if not role_allows(role=role, action=action):
        raise Forbidden(REFUSALS[action])
    return project, role


def task_holder_check(*, user: AbstractBaseUser, lease: Lease) -> None:
    """Submitting or skipping: the lease holder, while their role still lets them annotate."""
    role = role_of(user=user, project_id=lease.project_id)
    if role is None:
        raise NotFound("no such task")
    if not role_allows(role=role, action=Action.ANNOTATE):
        raise Forbidden(REFUSALS[Action.ANNOTATE])
    if lease.user_id != user.pk:
        raise Forbidden("only the annotator holding this task may submit or skip it")


def task_view_check(*, user: AbstractBaseUser, lease: Lease) -> None:
    """Seeing a task and its pre-label: the holder, reviewers and managers."""
    role = role_of(user=user, project_id=lease.project_id)
    if role is None:
        raise NotFound("no such task")
    if lease.user_id != user.pk and not role_allows(role=role, action=Action.REVIEW):
        raise Forbidden(REFUSALS[Action.REVIEW])


def annotation_check(*, user: AbstractBaseUser, annotation: Annotation) -> None:
    """Seeing or editing an annotation: its author, reviewers and managers."""
    role = role_of(user=user, project_id=annotation.project_id)
    if role is None:
        raise NotFound("no such annotation")
    if annotation.author_id != user.pk and not role_allows(role=role, action=Action.REVIEW):
        raise Forbidden(REFUSALS[Action.REVIEW])
