"""Export API: one GET per project, reviewers and managers only, the file returned as an attachment."""

import tempfile

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.views import APIView

from eolabel.exports.errors import CorruptAnnotation, ExportError
from eolabel.exports.serializers import ExportInput
from eolabel.exports.services import EXPORT_FORMATS, export_filename, project_export
from eolabel.labelling.errors import Forbidden, NotFound
from eolabel.labelling.permissions import Action, project_access

SPOOL_BYTES = 8 * 1024 * 1024


class ExportFormatNegotiation(DefaultContentNegotiation):
    """``?format=`` names the export format here, not a DRF renderer (DRF would answer 404 for ``geotiff``):
    errors are always rendered as JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ProjectExportApi(APIView):
    content_negotiation_class = ExportFormatNegotiation

    @extend_schema(
        parameters=[ExportInput],
        responses={
            (200, fmt.content_type): OpenApiResponse(
                OpenApiTypes.BINARY, description=f"the {fmt.name} export file (attachment)"
            )
            for fmt in EXPORT_FORMATS.values()
        },
    )
    def get(self, request: Request, project_id: int) -> FileResponse:
        try:  # access first: an outsider learns nothing from how the parameters are judged
            project, _ = project_access(user=request.user, project_id=project_id, action=Action.REVIEW)
        except NotFound as exc:
            raise exceptions.NotFound(exc.message) from exc
        except Forbidden as exc:
            raise exceptions.PermissionDenied("only reviewers and managers may export a project") from exc
        params = ExportInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        fmt = params.validated_data["format"]
        stream = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - FileResponse closes it
        try:
            project_export(project=project, fmt=fmt, out=stream)
        except CorruptAnnotation:
            stream.close()
            raise
        except ExportError as exc:
            stream.close()
            raise exceptions.ValidationError({"format": [str(exc)]}) from exc
        stream.seek(0)
        response = FileResponse(
            stream,
            as_attachment=True,
            filename=export_filename(project=project, fmt=fmt),
            content_type=EXPORT_FORMATS[fmt].content_type,
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response
