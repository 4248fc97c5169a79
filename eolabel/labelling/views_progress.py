"""A project's progress as the labelling page shows it: the caller's submissions today and the project's."""

from datetime import datetime, time

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from eolabel.labelling import selectors
from eolabel.labelling.models import Annotation
from eolabel.labelling.permissions import Action, project_access
from eolabel.labelling.serializers import ErrorOutput, ProgressOutput
from eolabel.labelling.views import LabellingApi


class MyProgressOutput(serializers.Serializer):
    mine_today = serializers.IntegerField(help_text="your annotations in this project since local midnight")
    mine_total = serializers.IntegerField()
    project = ProgressOutput()


class ProjectProgressApi(LabellingApi):
    @extend_schema(
        responses={200: MyProgressOutput, 404: ErrorOutput}, summary="Your and the project's progress"
    )
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_access(user=request.user, project_id=project_id, action=Action.VIEW)
        midnight = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
        mine = Annotation.objects.filter(project=project, author=request.user)
        body = {
            "mine_today": mine.filter(created__gte=midnight).count(),
            "mine_total": mine.count(),
            "project": selectors.project_progress(project=project),
        }
        return Response(MyProgressOutput(body).data)
