"""Tile views: authentication, then one service call (which reads the scene only if the user may see it); tile errors map to HTTP codes here and nowhere else."""

import hashlib
import json

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified
from django.urls import reverse
from django.utils.http import parse_etags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from eolabel.tiles import services
from eolabel.tiles.errors import (
    InvalidParameter,
    SceneNotFound,
    SceneUnreadable,
    SensorMisconfigured,
    TileError,
    TileOutsideScene,
)
from eolabel.tiles.params import DEFAULT_TILE_SIZE, tile_format_parse

ERROR_STATUS: dict[type[TileError], int] = {
    InvalidParameter: 400,
    SceneNotFound: 404,
    TileOutsideScene: 404,
    SensorMisconfigured: 500,
    SceneUnreadable: 500,
}

DISPLAY_PARAMETERS = [
    OpenApiParameter(
        "preset", str, description="a preset of the scene's sensor (default: the sensor's default)"
    ),
    OpenApiParameter(
        "bands", str, description="1 or 3 band names of the sensor, comma separated, e.g. B04,B03,B02"
    ),
    OpenApiParameter(
        "rescale", str, many=True, description="min,max once, or once per band; required with bands"
    ),
    OpenApiParameter("tilesize", int, enum=[256, 512], description=f"default {DEFAULT_TILE_SIZE}"),
]


class IgnoreAccept(BaseContentNegotiation):
    """Tiles answer images or JSON errors whatever the Accept header says (browsers ask for image/*)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return (renderers[0], renderers[0].media_type)


class TileApiView(APIView):
    renderer_classes = [JSONRenderer]
    content_negotiation_class = IgnoreAccept

    def handle_exception(self, exc: Exception) -> Response:
        for error_class, status in ERROR_STATUS.items():
            if isinstance(exc, error_class):
                return Response({"detail": str(exc)}, status=status)
        return super().handle_exception(exc)


class TileView(TileApiView):
    @extend_schema(
        parameters=DISPLAY_PARAMETERS,
        responses={(200, "image/png"): OpenApiTypes.BINARY, (200, "image/webp"): OpenApiTypes.BINARY},
    )
    def get(self, request: Request, scene_id: int, z: int, x: int, y: int, fmt: str) -> HttpResponse:
        tile = services.tile_prepare(
            scene_id=scene_id, user=request.user, z=z, x=x, y=y, fmt=fmt, query=dict(request.GET.lists())
        )
        headers = {
            "ETag": tile.etag,
            "Cache-Control": f"private, max-age={settings.EOLABEL_TILE_CACHE_SECONDS}",
            "X-Content-Type-Options": "nosniff",
        }
        if _etag_matches(request.headers.get("If-None-Match"), tile.etag):
            return HttpResponseNotModified(headers=headers)
        body = services.tile_image(tile=tile)
        return HttpResponse(body, content_type=tile.address.media_type, headers=headers)


class TileJsonView(TileApiView):
    @extend_schema(
        parameters=[
            *DISPLAY_PARAMETERS,
            OpenApiParameter("format", str, enum=["png", "webp"], description="format of the tile URLs"),
        ],
        responses=OpenApiResponse(OpenApiTypes.OBJECT, description="TileJSON 3.0.0 (see docs/tiles.md)"),
    )
    def get(self, request: Request, scene_id: int) -> Response:
        scene = services.scene_for_tiles(scene_id=scene_id, user=request.user)
        fmt = tile_format_parse(request.GET.get("format", "png"))
        params = services.tile_params_for(scene=scene, query=dict(request.GET.lists()))
        origin = reverse("tiles:tile", kwargs={"scene_id": scene.pk, "z": 0, "x": 0, "y": 0, "fmt": fmt})
        prefix = origin.removesuffix(f"0/0/0.{fmt}")
        template = request.build_absolute_uri(prefix) + "{z}/{x}/{y}." + fmt
        body = services.tilejson_build(scene=scene, params=params, tile_url_template=template)
        etag = '"' + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32] + '"'
        headers = {"ETag": etag, "Cache-Control": f"private, max-age={settings.EOLABEL_TILE_CACHE_SECONDS}"}
        if _etag_matches(request.headers.get("If-None-Match"), etag):
            return Response(status=304, headers=headers)
        return Response(body, headers=headers)


def _etag_matches(header: str | None, etag: str) -> bool:
    """Weak comparison, as RFC 9110 asks for If-None-Match."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.removeprefix("W/") == etag for tag in parse_etags(header))
