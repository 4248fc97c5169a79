"""Dashboard pages (shells the browser code fills) and their JSON API. Every view checks the caller's role in
the project with ``project_access``: no role is 404, a role too weak for an action 403 (managers only for
writes). Figures are computed here, server-side; the browser only draws them."""

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpResponse
from django.views.generic import TemplateView
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from eolabel.archive.models import Chip
from eolabel.dashboard import comparison, learning, loop, selectors, services, uncertainty, vehicles
from eolabel.labelling.errors import NotFound
from eolabel.labelling.permissions import Action, project_access, role_allows
from eolabel.labelling.selectors import project_list_for
from eolabel.labelling.serializers import ErrorOutput, StrictInput
from eolabel.labelling.views import LabellingApi
from eolabel.tiles.views import IgnoreAccept
from eolabel.web.views import LOGIN_PAGE

JSON = {200: OpenApiTypes.OBJECT}


# --- pages ------------------------------------------------------------------------------------------------


class ProjectIndexPage(LoginRequiredMixin, TemplateView):
    """The projects the user has a role in, each linking to its dashboard."""

    login_url = LOGIN_PAGE
    template_name = "dashboard/index.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "projects": project_list_for(user=self.request.user)}


class ProjectDashboardPage(LoginRequiredMixin, TemplateView):
    login_url = LOGIN_PAGE
    template_name = "dashboard/project.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        try:
            project, role = project_access(
                user=self.request.user, project_id=kwargs["project_id"], action=Action.VIEW
            )
        except NotFound as exc:
            raise Http404(exc.message) from exc
        return {
            **super().get_context_data(**kwargs),
            "project": project,
            "role": role,
            "is_manager": role_allows(role=role, action=Action.MANAGE),
            "is_cloud": project.task_type == "cloud-segmentation",
        }


# --- JSON API ---------------------------------------------------------------------------------------------


class ProgressApi(LabellingApi):
    @extend_schema(responses=JSON, summary="Labelling progress (annotators see their own row only)")
    def get(self, request: Request, project_id: int) -> Response:
        project, role = project_access(user=request.user, project_id=project_id, action=Action.VIEW)
        summary = selectors.dashboard_progress(project=project, user=request.user, role=role)
        return Response(
            {**summary.__dict__, "annotators": [r.__dict__ for r in summary.annotators], "role": role}
        )


class LoopApi(LabellingApi):
    @extend_schema(
        responses=JSON, summary="Training jobs (live progress), history with logs, retraining policy"
    )
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_access(user=request.user, project_id=project_id, action=Action.VIEW)
        return Response(loop.dashboard_loop(project=project))


class ModelsApi(LabellingApi):
    @extend_schema(
        responses=JSON, summary="Model versions and the learning curve (with the simulator's curves)"
    )
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_access(user=request.user, project_id=project_id, action=Action.VIEW)
        return Response(learning.dashboard_models(project=project))


class UncertaintyApi(LabellingApi):
    @extend_schema(
        responses=JSON,
        summary="Chip scores of a model version (default: current) as GeoJSON rectangles; ?scene=<id> for one",
    )
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_access(user=request.user, project_id=project_id, action=Action.VIEW)
        version = request.query_params.get("model_version") or None
        scene = None
        if request.query_params.get("scene"):
            scene = project.scenes.filter(pk=_int(request.query_params["scene"], "scene")).first()
            if scene is None:
                raise NotFound("no such scene in this project")
        return Response(uncertainty.uncertainty_geojson(project=project, model_version=version, scene=scene))


class UncertaintyScenesApi(LabellingApi):
    @extend_schema(responses=JSON, summary="Per scene: chips scored, mean and max score, most doubtful first")
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_access(user=request.user, project_id=project_id, action=Action.VIEW)
        version = request.query_params.get("model_version") or project.current_model_version
        rows = uncertainty.uncertainty_scenes(project=project, model_version=version)
        return Response({"model_version": version or None, "scenes": rows})


class ComparisonOptionsApi(LabellingApi):
    @extend_schema(
        responses=JSON, summary="Model versions and scenes that can be compared with a reference mask"
    )
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_access(user=request.user, project_id=project_id, action=Action.VIEW)
        return Response(comparison.comparison_options(project=project))


def _comparison(request: Request, project_id: int, scene_id: int) -> comparison.Comparison:
    project, _ = project_access(user=request.user, project_id=project_id, action=Action.VIEW)
    scene = project.scenes.filter(pk=scene_id).first()
    if scene is None:
        raise NotFound("no such scene in this project")
    chip = None
    if request.query_params.get("chip"):
        chip = Chip.objects.filter(scene=scene, pk=_int(request.query_params["chip"], "chip")).first()
        if chip is None:
            raise NotFound("no such chip in this scene")
    version = request.query_params.get("model_version") or project.current_model_version
    return comparison.scene_comparison(
        project=project,
        scene=scene,
        model_version=version,
        reference_name=request.query_params.get("reference") or None,
        against_version=request.query_params.get("against") or None,
        chip=chip,
    )


def _int(text: str, field: str) -> int:
    """A positive database id from a query parameter (400 otherwise, never an overflow in the database)."""
    try:
        value = int(text)
    except ValueError as exc:
        raise serializers.ValidationError({field: ["expected an integer"]}) from exc
    if not 0 < value < 2**63:
        raise serializers.ValidationError({field: ["expected a positive id"]})
    return value


class ComparisonFiguresApi(LabellingApi):
    @extend_schema(
        responses=JSON, summary="F2, omission and over-detection of a scene (or chip) against a reference"
    )
    def get(self, request: Request, project_id: int, scene_id: int) -> Response:
        return Response(_comparison(request, project_id, scene_id).figures())


class ComparisonPngApi(LabellingApi):
    content_negotiation_class = IgnoreAccept

    @extend_schema(
        responses={(200, "image/png"): OpenApiTypes.BINARY}, summary="The four-colour comparison layer"
    )
    def get(self, request: Request, project_id: int, scene_id: int) -> HttpResponse:
        png = comparison.comparison_png(_comparison(request, project_id, scene_id).raster)
        response = HttpResponse(png, content_type="image/png")
        response["Cache-Control"] = "private, no-store"
        return response


class AreaInput(StrictInput):
    name = serializers.CharField(max_length=200)
    geometry = serializers.JSONField()


class AreasApi(LabellingApi):
    @extend_schema(responses=JSON, summary="Areas of interest (GeoJSON, EPSG:4326)")
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_access(user=request.user, project_id=project_id, action=Action.VIEW)
        return Response(vehicles.areas_geojson(project=project))

    @extend_schema(request=AreaInput, responses={201: OpenApiTypes.OBJECT}, summary="Add an area (managers)")
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = project_access(user=request.user, project_id=project_id, action=Action.MANAGE)
        data = AreaInput(data=request.data)
        data.is_valid(raise_exception=True)
        area = services.area_of_interest_create(
            project=project,
            name=data.validated_data["name"],
            geometry=data.validated_data["geometry"],
            created_by=request.user,
        )
        body = {"id": area.pk, "name": area.name, "geometry": area.geometry}
        return Response(body, status=status.HTTP_201_CREATED)


class AreaRenameInput(StrictInput):
    name = serializers.CharField(max_length=200, help_text="the new name, unique in the project")


class AreaOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    geometry = serializers.JSONField(help_text="GeoJSON Polygon in EPSG:4326")


class AreaDetailApi(LabellingApi):
    """One area of interest: rename or delete it (managers). The role is checked before the area is looked up,
    and an area of another project is 404 like a missing one."""

    @extend_schema(
        request=AreaRenameInput,
        responses={200: AreaOutput, 400: ErrorOutput, 403: ErrorOutput, 404: ErrorOutput},
        summary="Rename an area (managers); body {name} only",
    )
    def patch(self, request: Request, project_id: int, area_id: int) -> Response:
        project, _ = project_access(user=request.user, project_id=project_id, action=Action.MANAGE)
        area = services.area_of_interest_get(project=project, area_id=area_id)
        data = AreaRenameInput(data=request.data)
        data.is_valid(raise_exception=True)
        area = services.area_of_interest_rename(area=area, name=data.validated_data["name"])
        return Response({"id": area.pk, "name": area.name, "geometry": area.geometry})

    @extend_schema(
        responses={204: None, 403: ErrorOutput, 404: ErrorOutput},
        summary="Delete an area (managers)",
    )
    def delete(self, request: Request, project_id: int, area_id: int) -> Response:
        project, _ = project_access(user=request.user, project_id=project_id, action=Action.MANAGE)
        area = services.area_of_interest_get(project=project, area_id=area_id)
        services.area_of_interest_delete(area=area)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VehicleCountsApi(LabellingApi):
    @extend_schema(responses=JSON, summary="Vehicle counts per area and acquisition date")
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_access(user=request.user, project_id=project_id, action=Action.VIEW)
        rows = vehicles.vehicle_counts(project=project)
        return Response(
            {
                "model_version": project.current_model_version,
                "rows": vehicles.counts_json(rows),
                "errors": vehicles.count_errors_per_area(rows),
            }
        )


class VehicleCountsCsvApi(LabellingApi):
    content_negotiation_class = IgnoreAccept

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR}, summary="Vehicle counts as CSV")
    def get(self, request: Request, project_id: int) -> HttpResponse:
        project, _ = project_access(user=request.user, project_id=project_id, action=Action.VIEW)
        text = vehicles.counts_csv(vehicles.vehicle_counts(project=project))
        response = HttpResponse(text, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="vehicle-counts-project-{project.pk}.csv"'
        return response
