"""Review API (reviewers and managers): the next annotation waiting for review, accept it, or correct it.

403 for annotators and for one's own annotation, 404 without a role in the project, 409 when the version named
is no longer the annotation's (someone edited or reviewed it meanwhile)."""

from datetime import datetime, time

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from eolabel.labelling import selectors
from eolabel.labelling.errors import InvalidInput
from eolabel.labelling.models import Project
from eolabel.labelling.permissions import Action, project_access
from eolabel.labelling.selectors_review import annotation_to_review_next, annotations_to_review
from eolabel.labelling.serializers import AnnotationOutput, EditInput, StrictInput, TaskOutput
from eolabel.labelling.services.review import annotation_accept, annotation_correct
from eolabel.labelling.views import ERRORS, LabellingApi, _label_body_check


class ReviewNextOutput(serializers.Serializer):
    annotation = AnnotationOutput(allow_null=True)
    task = TaskOutput(allow_null=True, help_text="the annotated task: chip, scene tiles, pre-label")
    waiting = serializers.IntegerField(help_text="annotations by others waiting for your review")
    reviewed_today = serializers.IntegerField(help_text="annotations you reviewed in this project today")
    reason = serializers.CharField(allow_null=True, help_text="why no annotation was given")


class AcceptInput(StrictInput):
    version = serializers.IntegerField(min_value=1, help_text="the version you looked at")


class CorrectInput(EditInput):
    """The reviewer's label (mask_png, boxes or geojson) replacing ``version``."""


class ReviewNextApi(LabellingApi):
    @extend_schema(
        parameters=[
            OpenApiParameter("after", int, description="pass over the annotations up to this id"),
        ],
        responses={200: ReviewNextOutput, **ERRORS},
        summary="The next annotation waiting for your review (reviewers, managers)",
        description=(
            "Oldest first, never your own. Nothing is reserved: two reviewers may get the same annotation, and "
            "the second decision is refused with 409. Nothing left is 200 with annotation=null and a reason."
        ),
    )
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_access(user=request.user, project_id=project_id, action=Action.REVIEW)
        after = request.query_params.get("after")
        if after is not None and not after.isdigit():
            raise InvalidInput("must be an annotation id", field="after")
        annotation = annotation_to_review_next(
            project=project, user=request.user, after=int(after) if after else None
        )
        body = {
            "annotation": None,
            "task": None,
            "waiting": annotations_to_review(project=project, user=request.user).count(),
            "reviewed_today": _reviewed_today(project=project, user=request.user),
            "reason": None,
        }
        if annotation is None:
            body["reason"] = "no annotation by others is waiting for your review"
        else:
            body["annotation"] = annotation
            body["task"] = selectors.lease_get(lease_id=annotation.lease_id)
        return Response(ReviewNextOutput(body).data)


def _reviewed_today(*, project: Project, user: AbstractBaseUser) -> int:
    midnight = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
    return project.annotations.filter(reviewed_by=user, reviewed_at__gte=midnight).count()


class AnnotationAcceptApi(LabellingApi):
    @extend_schema(
        request=AcceptInput,
        responses={200: AnnotationOutput, **ERRORS},
        summary="Accept an annotation as it is (reviewers, managers)",
        description="`version` must be the current version, else 409. Accepting it again is a 200 no-op.",
    )
    def post(self, request: Request, annotation_id: int) -> Response:
        annotation = selectors.annotation_get(annotation_id=annotation_id)
        project_access(user=request.user, project_id=annotation.project_id, action=Action.REVIEW)
        data = AcceptInput(data=request.data)
        data.is_valid(raise_exception=True)
        annotation_accept(annotation=annotation, user=request.user, **data.validated_data)
        return Response(AnnotationOutput(selectors.annotation_get(annotation_id=annotation_id)).data)


class AnnotationCorrectApi(LabellingApi):
    @extend_schema(
        request={"application/json": CorrectInput, "multipart/form-data": CorrectInput},
        responses={200: AnnotationOutput, **ERRORS},
        summary="Correct an annotation: your label becomes its next version (reviewers, managers)",
        description=(
            "`version` must be the current version, else 409. The annotator's version is kept and listed by "
            "/api/annotations/{id}/revisions. Sending the same correction again returns it unchanged."
        ),
    )
    def post(self, request: Request, annotation_id: int) -> Response:
        annotation = selectors.annotation_get(annotation_id=annotation_id)
        project_access(user=request.user, project_id=annotation.project_id, action=Action.REVIEW)
        _label_body_check(request)
        data = CorrectInput(data=request.data)
        data.is_valid(raise_exception=True)
        annotation_correct(annotation=annotation, user=request.user, **data.validated_data)
        return Response(AnnotationOutput(selectors.annotation_get(annotation_id=annotation_id)).data)
