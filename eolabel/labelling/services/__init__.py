"""Labelling writes, one module per concern: projects and members, the leasing queue, annotations, and the
retraining policy. Import from here."""

from eolabel.labelling.services.annotations import (
    LabelContent,
    Submitted,
    annotation_edit,
    annotation_submit,
    chip_geo,
    label_content_parse,
)
from eolabel.labelling.services.leasing import NextTask, lease_next, lease_refusal, lease_skip, leases_expire
from eolabel.labelling.services.policy import (
    RetrainDecision,
    retrain_request_created,
    retraining_decide,
    retraining_maybe_trigger,
)
from eolabel.labelling.services.projects import (
    chip_cold_key,
    chip_is_validation,
    membership_remove,
    membership_set,
    project_chip_states_refresh,
    project_chips_sync,
    project_create,
    project_ranking_activate,
    project_scenes_add,
    project_update,
)

__all__ = [
    "LabelContent",
    "NextTask",
    "RetrainDecision",
    "Submitted",
    "annotation_edit",
    "annotation_submit",
    "chip_cold_key",
    "chip_geo",
    "chip_is_validation",
    "label_content_parse",
    "lease_next",
    "lease_refusal",
    "lease_skip",
    "leases_expire",
    "membership_remove",
    "membership_set",
    "project_chip_states_refresh",
    "project_chips_sync",
    "project_create",
    "project_ranking_activate",
    "project_scenes_add",
    "project_update",
    "retrain_request_created",
    "retraining_decide",
    "retraining_maybe_trigger",
]
