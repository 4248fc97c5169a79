"""Training API: read jobs and model versions (project members), and "retrain now" / "score now" (managers).

409 when the project already has a queued or running job, or has no model to score with."""

from drf_spectacular.utils import extend_schema
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response

from eolabel.labelling.errors import Conflict, NotFound
from eolabel.labelling.permissions import Action, project_access
from eolabel.labelling.serializers import ErrorOutput
from eolabel.labelling.views import LabellingApi
from eolabel.training import selectors
from eolabel.training.errors import JobActive
from eolabel.training.models import TrainingJob
from eolabel.training.serializers import ModelVersionOutput, TrainingJobOutput
from eolabel.training.services.jobs import training_job_enqueue
from eolabel.training.services.registry import registry_name

ERRORS = {code: ErrorOutput for code in (403, 404, 409)}


class TrainingJobListApi(LabellingApi):
    pagination_class = LimitOffsetPagination  # paginated by hand below; this documents the page shape

    @extend_schema(responses=TrainingJobOutput(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project_access(user=request.user, project_id=project_id, action=Action.VIEW)
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(selectors.training_jobs(project_id=project_id), request, view=self)
        return paginator.get_paginated_response(TrainingJobOutput(page, many=True).data)


class TrainingJobDetailApi(LabellingApi):
    @extend_schema(responses={200: TrainingJobOutput, 403: ErrorOutput, 404: ErrorOutput})
    def get(self, request: Request, project_id: int, job_id: int) -> Response:
        project_access(user=request.user, project_id=project_id, action=Action.VIEW)
        job = selectors.training_job_get(project_id=project_id, job_id=job_id)
        if job is None:
            raise NotFound("no such training job")
        return Response(TrainingJobOutput(job).data)


class _JobStartApi(LabellingApi):
    kind = TrainingJob.Kind.RETRAIN

    def _start(self, request: Request, project_id: int) -> Response:
        project, _ = project_access(user=request.user, project_id=project_id, action=Action.MANAGE)
        if self.kind == TrainingJob.Kind.SCORE and not project.current_model_version:
            raise Conflict("the project has no model to score with yet: retrain first")
        try:
            job = training_job_enqueue(
                project=project, kind=self.kind, reason=f"{self.kind} now (API)", requested_by=request.user
            )
        except JobActive as exc:
            raise Conflict(str(exc)) from exc
        return Response(TrainingJobOutput(job).data, status=202)


class RetrainNowApi(_JobStartApi):
    kind = TrainingJob.Kind.RETRAIN

    @extend_schema(
        request=None, responses={202: TrainingJobOutput, **ERRORS}, summary="Retrain now (managers)"
    )
    def post(self, request: Request, project_id: int) -> Response:
        return self._start(request, project_id)


class ScoreNowApi(_JobStartApi):
    kind = TrainingJob.Kind.SCORE

    @extend_schema(
        request=None, responses={202: TrainingJobOutput, **ERRORS}, summary="Re-score now (managers)"
    )
    def post(self, request: Request, project_id: int) -> Response:
        return self._start(request, project_id)


class ModelVersionListApi(LabellingApi):
    pagination_class = LimitOffsetPagination  # paginated by hand below; this documents the page shape

    @extend_schema(responses=ModelVersionOutput(many=True))
    def get(self, request: Request, project_id: int) -> Response:
        project_access(user=request.user, project_id=project_id, action=Action.VIEW)
        versions = selectors.model_versions(project_id=project_id).select_related("project")
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(versions, request, view=self)
        return paginator.get_paginated_response(ModelVersionOutput(page, many=True).data)


class ModelVersionDetailApi(LabellingApi):
    @extend_schema(responses={200: ModelVersionOutput, 403: ErrorOutput, 404: ErrorOutput})
    def get(self, request: Request, project_id: int, number: int) -> Response:
        project_access(user=request.user, project_id=project_id, action=Action.VIEW)
        version = selectors.model_version_get(
            project_id=project_id, version=f"{registry_name(project_id=project_id)}/v{number}"
        )
        if version is None:
            raise NotFound("no such model version")
        return Response(ModelVersionOutput(version).data)
