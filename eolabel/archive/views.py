"""Archive API: thin views over the selectors. Every scene read goes through ``scenes_visible_to``: a scene the
caller may not see answers 404, as one that does not exist."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from eolabel.archive.models import Sensor
from eolabel.archive.selectors import scene_list, scenes_visible_to
from eolabel.archive.serializers import (
    ChipFilterInput,
    ChipOutput,
    SceneDetailOutput,
    SceneFilterInput,
    SceneOutput,
    SensorOutput,
)


class SensorListApi(APIView):
    @extend_schema(responses=SensorOutput(many=True))
    def get(self, request: Request) -> Response:
        return Response(SensorOutput(Sensor.objects.all(), many=True).data)


class SceneListApi(APIView):
    pagination_class = LimitOffsetPagination  # paginated by hand below; this documents the page shape

    @extend_schema(parameters=[SceneFilterInput], responses=SceneOutput(many=True))
    def get(self, request: Request) -> Response:
        filters = SceneFilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        scenes = scene_list(user=request.user, **filters.validated_data)
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(scenes, request, view=self)
        return paginator.get_paginated_response(SceneOutput(page, many=True).data)


class SceneDetailApi(APIView):
    @extend_schema(responses=SceneDetailOutput)
    def get(self, request: Request, scene_id: int) -> Response:
        scene = get_object_or_404(scene_list(user=request.user), pk=scene_id)
        return Response(SceneDetailOutput(scene).data)


class SceneChipListApi(APIView):
    pagination_class = LimitOffsetPagination  # paginated by hand below; this documents the page shape

    @extend_schema(parameters=[ChipFilterInput], responses=ChipOutput(many=True))
    def get(self, request: Request, scene_id: int) -> Response:
        scene = get_object_or_404(scenes_visible_to(user=request.user), pk=scene_id)
        filters = ChipFilterInput(data=request.query_params)
        filters.is_valid(raise_exception=True)
        chips = scene.chips.all()
        if "size" in filters.validated_data:
            chips = chips.filter(size=filters.validated_data["size"])
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(chips, request, view=self)
        return paginator.get_paginated_response(ChipOutput(page, many=True).data)
