"""The superpixels of a task's chip, for the labelling page's one-click fill."""

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request

from eolabel.archive.errors import ArchiveError
from eolabel.labelling import selectors
from eolabel.labelling.errors import NotFound
from eolabel.labelling.permissions import task_view_check
from eolabel.labelling.services.superpixels import chip_superpixels, superpixels_png
from eolabel.labelling.views import PNG, LabellingApi, _png


class TaskSuperpixelsApi(LabellingApi):
    @extend_schema(
        responses=PNG,
        summary="SLIC superpixels of the task's chip",
        description="Chip-sized opaque RGB PNG; each pixel's label is r << 16 | g << 8 | b.",
    )
    def get(self, request: Request, task_id: int) -> HttpResponse:
        lease = selectors.lease_get(lease_id=task_id)
        task_view_check(user=request.user, lease=lease)
        try:
            labels = chip_superpixels(chip=lease.project_chip.chip)
        except (ArchiveError, OSError) as exc:
            raise NotFound(f"the chip's pixels cannot be read: {exc}") from exc
        return _png(superpixels_png(labels))
