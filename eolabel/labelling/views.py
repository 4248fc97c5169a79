"""Labelling API: one small view per resource, each calling one service or selector.

Status codes: 400 invalid input (``detail`` names the field), 403 role too weak, 404 no such object or no role in
its project, 409 conflict with the current state (lease expired, task already submitted, stale version).
"""

from typing import Any

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from eolabel.labelling import selectors, services
from eolabel.labelling.codecs import MASK_MAX_BYTES
from eolabel.labelling.errors import Conflict, Forbidden, InvalidInput, LabellingError, NotFound
from eolabel.labelling.permissions import (
    Action,
    annotation_check,
    project_access,
    task_holder_check,
    task_view_check,
)
from eolabel.labelling.serializers import (
    AnnotationOutput,
    EditInput,
    ErrorOutput,
    MemberDeleteInput,
    MemberInput,
    MemberOutput,
    NextOutput,
    ProjectCreateInput,
    ProjectDetailOutput,
    ProjectOutput,
    ProjectUpdateInput,
    RevisionOutput,
    SkipInput,
    SubmitInput,
    TaskOutput,
)
from eolabel.ranking.selectors import prelabel_get

ERRORS = {code: ErrorOutput for code in (400, 403, 404, 409)}
PNG = {(200, "image/png"): OpenApiTypes.BINARY, 403: ErrorOutput, 404: ErrorOutput}


class HttpConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "conflict with the current state"
    default_code = "conflict"


def api_exception(exc: LabellingError) -> exceptions.APIException:
    """The HTTP face of a labelling error."""
    if isinstance(exc, InvalidInput):
        return exceptions.ValidationError({exc.field or "non_field_errors": [exc.message]})
    if isinstance(exc, NotFound):
        return exceptions.NotFound(exc.message)
    if isinstance(exc, Forbidden):
        return exceptions.PermissionDenied(exc.message)
    if isinstance(exc, Conflict):
        return HttpConflict(exc.message)
    return exceptions.APIException(exc.message)


class LabellingApi(APIView):
    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, LabellingError):
            exc = api_exception(exc)
        return super().handle_exception(exc)


def _label_body_check(request: Request) -> None:
    """Refuse oversized label bodies with a 400 naming the field, before anything reads them. JSON bodies are
    capped by Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB by default: a base64 mask up to about 1.8 MB);
    multipart uploads by the mask cap itself."""
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    multipart = request.content_type.startswith("multipart/")
    limit = MASK_MAX_BYTES + 64 * 1024 if multipart else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and length > limit:
        hint = "" if multipart else "; upload large masks as multipart/form-data"
        raise InvalidInput(
            f"request body of {length} bytes is above the {limit} byte limit{hint}", field="mask_png"
        )


def _png(data: Any) -> HttpResponse:
    response = HttpResponse(bytes(data), content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    return response


# --- projects --------------------------------------------------------------------------------------------


class ProjectListApi(LabellingApi):
    pagination_class = LimitOffsetPagination  # GET paginates by hand; this documents the page shape

    @extend_schema(responses=ProjectOutput(many=True), summary="Projects where you have a role")
    def get(self, request: Request) -> Response:
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(selectors.project_list_for(user=request.user), request, view=self)
        return paginator.get_paginated_response(ProjectOutput(page, many=True).data)

    @extend_schema(
        request=ProjectCreateInput,
        responses={201: ProjectDetailOutput, **ERRORS},
        summary="Create a project (staff); you become its manager",
    )
    def post(self, request: Request) -> Response:
        if not request.user.is_staff:
            raise Forbidden("only staff users may create projects")
        data = ProjectCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        project = services.project_create(
            sensor_names=values.pop("sensors"),
            scene_ids=values.pop("scenes"),
            created_by=request.user,
            **values,
        )
        return Response(_project_detail(project, role="manager"), status=status.HTTP_201_CREATED)


class ProjectDetailApi(LabellingApi):
    @extend_schema(responses={200: ProjectDetailOutput, 404: ErrorOutput})
    def get(self, request: Request, project_id: int) -> Response:
        project, role = project_access(user=request.user, project_id=project_id, action=Action.VIEW)
        return Response(_project_detail(project, role=role))

    @extend_schema(
        request=ProjectUpdateInput,
        responses={200: ProjectDetailOutput, **ERRORS},
        summary="Change a project (managers); unknown or read-only fields are refused",
    )
    def patch(self, request: Request, project_id: int) -> Response:
        project, role = project_access(user=request.user, project_id=project_id, action=Action.MANAGE)
        data = ProjectUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        project = services.project_update(
            project=project, changes=data.validated_data, changed_by=request.user
        )
        return Response(_project_detail(project, role=role))


def _project_detail(project: Any, *, role: str) -> dict[str, Any]:
    project.my_role = role
    project.progress = selectors.project_progress(project=project)
    return ProjectDetailOutput(project).data


class ProjectMembersApi(LabellingApi):
    @extend_schema(responses={200: MemberOutput(many=True), 404: ErrorOutput})
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_access(user=request.user, project_id=project_id, action=Action.VIEW)
        return Response(MemberOutput(selectors.project_members(project=project), many=True).data)

    @extend_schema(
        request=MemberInput,
        responses={201: MemberOutput, 200: MemberOutput, **ERRORS},
        summary="Give a user a role (managers); replaces their previous role",
    )
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = project_access(user=request.user, project_id=project_id, action=Action.MANAGE)
        data = MemberInput(data=request.data)
        data.is_valid(raise_exception=True)
        membership, created = services.membership_set(project=project, **data.validated_data)
        return Response(MemberOutput(membership).data, status=201 if created else 200)

    @extend_schema(
        request=MemberDeleteInput,
        responses={204: None, **ERRORS},
        summary="Take a user's role away (managers); body {user}",
    )
    def delete(self, request: Request, project_id: int) -> Response:
        project, _ = project_access(user=request.user, project_id=project_id, action=Action.MANAGE)
        data = MemberDeleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.membership_remove(project=project, user=data.validated_data["user"])
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- tasks -----------------------------------------------------------------------------------------------


class TaskNextApi(LabellingApi):
    @extend_schema(
        request=None,
        responses={200: NextOutput, **ERRORS},
        summary="Lease the best chip to label",
        description=(
            "Returns the caller's active task in the project if there is one (resumed=true), else leases the "
            "highest-scored chip of the current model version (cold start: a deterministic shuffle) for "
            "EOLABEL_LEASE_SECONDS. An empty queue is 200 with task=null and a reason."
        ),
    )
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = project_access(user=request.user, project_id=project_id, action=Action.ANNOTATE)
        outcome = services.lease_next(project=project, user=request.user)
        task = None
        if outcome.lease is not None:
            task = TaskOutput(selectors.lease_get(lease_id=outcome.lease.pk)).data
        return Response({"task": task, "resumed": outcome.resumed, "reason": outcome.reason or None})


class TaskDetailApi(LabellingApi):
    @extend_schema(responses={200: TaskOutput, 403: ErrorOutput, 404: ErrorOutput})
    def get(self, request: Request, task_id: int) -> Response:
        lease = selectors.lease_get(lease_id=task_id)
        task_view_check(user=request.user, lease=lease)
        return Response(TaskOutput(lease).data)


class TaskPrelabelApi(LabellingApi):
    @extend_schema(responses=PNG, summary="The pre-label mask offered with the task (class-index PNG)")
    def get(self, request: Request, task_id: int) -> HttpResponse:
        lease = selectors.lease_get(lease_id=task_id)
        task_view_check(user=request.user, lease=lease)
        row = prelabel_get(
            project_id=lease.project_id,
            chip_id=lease.project_chip.chip_id,
            model_version=lease.prelabel_model_version,
        )
        if row is None or row.mask_png is None:
            raise NotFound("this task has no pre-label mask")
        return _png(row.mask_png)


class TaskSkipApi(LabellingApi):
    @extend_schema(request=SkipInput, responses={200: TaskOutput, **ERRORS}, summary="Give the task back")
    def post(self, request: Request, task_id: int) -> Response:
        lease = selectors.lease_get(lease_id=task_id)
        task_holder_check(user=request.user, lease=lease)
        data = SkipInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.lease_skip(lease=lease, user=request.user, reason=data.validated_data["reason"])
        return Response(TaskOutput(selectors.lease_get(lease_id=task_id)).data)


class TaskAnnotationApi(LabellingApi):
    @extend_schema(
        request={"application/json": SubmitInput, "multipart/form-data": SubmitInput},
        responses={201: AnnotationOutput, 200: AnnotationOutput, **ERRORS},
        summary="Submit the task's label",
        description=(
            "A class mask (mask_png) for segmentation projects, boxes or geojson for detection projects. "
            "201 when stored; 200 with the first result when submission_id was already used for this task; "
            "409 when the lease expired or the task was already submitted or skipped."
        ),
    )
    def post(self, request: Request, task_id: int) -> Response:
        lease = selectors.lease_get(lease_id=task_id)
        task_holder_check(user=request.user, lease=lease)
        _label_body_check(request)
        data = SubmitInput(data=request.data)
        data.is_valid(raise_exception=True)
        outcome = services.annotation_submit(lease=lease, user=request.user, **data.validated_data)
        annotation = selectors.annotation_get(annotation_id=outcome.annotation.pk)
        return Response(AnnotationOutput(annotation).data, status=201 if outcome.created else 200)


# --- annotations -----------------------------------------------------------------------------------------


class AnnotationDetailApi(LabellingApi):
    @extend_schema(responses={200: AnnotationOutput, 403: ErrorOutput, 404: ErrorOutput})
    def get(self, request: Request, annotation_id: int) -> Response:
        annotation = selectors.annotation_get(annotation_id=annotation_id)
        annotation_check(user=request.user, annotation=annotation)
        return Response(AnnotationOutput(annotation).data)

    @extend_schema(
        request={"application/json": EditInput, "multipart/form-data": EditInput},
        responses={200: AnnotationOutput, **ERRORS},
        summary="Edit an annotation (author, reviewers, managers)",
        description="`version` must be the annotation's current version, else 409; the old version is kept.",
    )
    def patch(self, request: Request, annotation_id: int) -> Response:
        annotation = selectors.annotation_get(annotation_id=annotation_id)
        annotation_check(user=request.user, annotation=annotation)
        _label_body_check(request)
        data = EditInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.annotation_edit(annotation=annotation, user=request.user, **data.validated_data)
        return Response(AnnotationOutput(selectors.annotation_get(annotation_id=annotation_id)).data)


class AnnotationMaskApi(LabellingApi):
    @extend_schema(responses=PNG, summary="The annotation's class mask (current version)")
    def get(self, request: Request, annotation_id: int) -> HttpResponse:
        annotation = selectors.annotation_get(annotation_id=annotation_id)
        annotation_check(user=request.user, annotation=annotation)
        if annotation.mask_png is None:
            raise NotFound("this annotation has boxes, not a mask")
        return _png(annotation.mask_png)


class AnnotationRevisionListApi(LabellingApi):
    @extend_schema(responses={200: RevisionOutput(many=True), 403: ErrorOutput, 404: ErrorOutput})
    def get(self, request: Request, annotation_id: int) -> Response:
        annotation = selectors.annotation_get(annotation_id=annotation_id)
        annotation_check(user=request.user, annotation=annotation)
        revisions = annotation.revisions.select_related("made_by").order_by("-version")
        return Response(RevisionOutput(revisions, many=True).data)
