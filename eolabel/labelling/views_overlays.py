"""View-only overlays of a task's chip for the labelling page: the scene's reference labels and the current
model's per-pixel uncertainty. Both are chip-sized 8-bit greyscale PNGs; neither is ever part of a label.

Who sees what: a task's overlays are seen by whoever may see the task (its holder, reviewers, managers; no role:
404). References are labels made elsewhere that annotators never see as their own work, so a plain annotator
gets them only where the project's managers set ``show_reference_to_annotators``; otherwise 403.
"""

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request

from eolabel.archive.errors import ArchiveError
from eolabel.labelling import codecs, selectors
from eolabel.labelling.errors import Forbidden, NotFound
from eolabel.labelling.models import Lease
from eolabel.labelling.permissions import Action, role_allows, role_of, task_view_check
from eolabel.labelling.services.overlays import chip_reference_cut, chip_uncertainty
from eolabel.labelling.views import PNG, LabellingApi, _png
from eolabel.training.errors import TrainingError
from ml.errors import MLError


def reference_view_check(*, user: AbstractBaseUser, lease: Lease) -> None:
    """The task's viewers, less plain annotators of projects that keep references from them."""
    task_view_check(user=user, lease=lease)
    role = role_of(user=user, project_id=lease.project_id)
    if not role_allows(role=role, action=Action.REVIEW) and not lease.project.show_reference_to_annotators:
        raise Forbidden("this project shows reference labels to reviewers and managers only")


class TaskReferenceApi(LabellingApi):
    @extend_schema(
        responses=PNG,
        summary="The scene's reference labels cut to the task's chip (class-value PNG, view only)",
        description=(
            "Chip-sized 8-bit greyscale PNG of class values, encoded like the pre-label (255: no reference "
            "there). The header X-Reference-Name names the reference layer (the evaluation reference first). "
            "Reviewers and managers; the task's annotator only when the project sets "
            "show_reference_to_annotators (else 403). 404 when the scene has no mask reference."
        ),
    )
    def get(self, request: Request, task_id: int) -> HttpResponse:
        lease = selectors.lease_get(lease_id=task_id)
        reference_view_check(user=request.user, lease=lease)
        try:
            cut = chip_reference_cut(chip=lease.project_chip.chip)
        except (ArchiveError, OSError) as exc:
            raise NotFound(f"the reference cannot be read: {exc}") from exc
        if cut is None:
            raise NotFound("this chip's scene has no reference mask")
        response = _png(codecs.mask_encode(cut.values))
        response["X-Reference-Name"] = cut.reference.name
        return response


class TaskUncertaintyApi(LabellingApi):
    @extend_schema(
        responses=PNG,
        summary="The current model's per-pixel uncertainty over the task's chip (heat-map PNG)",
        description=(
            "Chip-sized 8-bit greyscale PNG: 0 sure .. 255 most uncertain. Normalised softmax entropy "
            "(entropy / ln K), or BALD / ln K when the project ranks by BALD with MC dropout; for vehicle "
            "projects the centre heat-map's binary entropy. Computed on request from the project's current "
            "model version (headers X-Model-Version, X-Uncertainty-Measure) and cached per version and chip. "
            "404 when the project has no model yet."
        ),
    )
    def get(self, request: Request, task_id: int) -> HttpResponse:
        lease = selectors.lease_get(lease_id=task_id)
        task_view_check(user=request.user, lease=lease)
        project = lease.project
        if not project.current_model_version:
            raise NotFound("the project has no model yet: uncertainty is shown once a model has been trained")
        try:
            result = chip_uncertainty(
                project=project, chip=lease.project_chip.chip, model_version=project.current_model_version
            )
        except (ArchiveError, OSError, MLError, TrainingError) as exc:
            raise NotFound(f"the uncertainty cannot be computed: {exc}") from exc
        response = _png(codecs.mask_encode(result.values))
        response["X-Model-Version"] = result.model_version
        response["X-Uncertainty-Measure"] = result.measure
        return response
