"""Label chips through the real queue services, so exports read what annotators would have stored."""

import uuid

import numpy as np

from eolabel.labelling import services
from eolabel.labelling.models import Annotation, Lease, Project
from tests.labelling.factories import png_bytes


def lease(project: Project, user) -> Lease:
    outcome = services.lease_next(project=project, user=user)
    assert outcome.lease is not None, outcome.reason
    return outcome.lease


def submit(held: Lease, user, *, mask: np.ndarray | None = None, boxes: list | None = None) -> Annotation:
    result = services.annotation_submit(
        lease=held,
        user=user,
        submission_id=uuid.uuid4(),
        seconds_spent=3.0,
        mask_png=png_bytes(mask) if mask is not None else None,
        boxes=boxes,
    )
    return result.annotation


def known_mask(width: int, height: int, *, seed: int = 0) -> np.ndarray:
    """Every class and some unlabelled pixels, a different value at each corner so shifts show."""
    rng = np.random.default_rng(seed)
    mask = rng.choice(np.array([0, 1, 2, 255], dtype=np.uint8), size=(height, width))
    mask[0, 0], mask[0, -1], mask[-1, 0], mask[-1, -1] = 0, 1, 2, 1
    return mask
