"""Pool scoring: one ChipScore and one chip-sized pre-label per pool chip, ranked batch, and distributed chunks
counted once each with a single activation."""

import numpy as np
import pytest

from eolabel.labelling import codecs
from eolabel.labelling.models import Project, ProjectChip
from eolabel.ranking.models import ChipScore, Prelabel
from eolabel.training.models import ScoringChunk, ScoringPass
from eolabel.training.services import scoring
from eolabel.training.services.retrain import project_retrain
from tests.training.conftest import annotate_n

pytestmark = pytest.mark.django_db


@pytest.fixture
def trained(cloud_project, user, fast_training) -> Project:
    annotate_n(cloud_project, user, training=2, validation=1)
    project_retrain(project=cloud_project)
    return Project.objects.get(pk=cloud_project.pk)


def test_pool_scores_and_prelabels_every_chip_left_to_label(trained):
    version = trained.current_model_version
    pool = ProjectChip.objects.filter(project=trained).exclude(state=ProjectChip.State.DONE)

    assert pool.count() == 5
    scores = ChipScore.objects.filter(project=trained, model_version=version)
    assert set(scores.values_list("chip_id", flat=True)) == set(pool.values_list("chip_id", flat=True))
    assert all(0.0 <= s <= np.log(5) + 1e-6 for s in scores.values_list("score", flat=True))  # mean entropy
    for prelabel in Prelabel.objects.filter(project=trained, model_version=version).select_related("chip"):
        mask = codecs.mask_decode(
            bytes(prelabel.mask_png),
            width=prelabel.chip.width,
            height=prelabel.chip.height,
            allowed=trained.class_values,
        )
        assert mask.shape == (prelabel.chip.height, prelabel.chip.width)
    ranked = pool.filter(score__isnull=False)
    assert ranked.count() == 5  # the queue follows the version


def test_ranked_batch_gives_every_pool_chip_a_distinct_rank(trained, settings):
    Project.objects.filter(pk=trained.pk).update(strategy="ranked-batch")
    project = Project.objects.get(pk=trained.pk)

    scoring.pool_score(project=project, model_version=project.current_model_version, chunk_size=2)

    rows = list(
        ChipScore.objects.filter(project=project, model_version=project.current_model_version).order_by(
            "rank"
        )
    )
    assert [r.rank for r in rows] == [1, 2, 3, 4, 5]
    assert [r.score for r in rows] == sorted(
        (r.score for r in rows), reverse=True
    )  # the queue's order is the rank


def test_distributed_chunks_activate_once_even_when_delivered_twice(
    trained, monkeypatch, django_capture_on_commit_callbacks
):
    version = trained.current_model_version
    ChipScore.objects.filter(project=trained).delete()
    ProjectChip.objects.filter(project=trained).update(score=None, rank=None)
    monkeypatch.setattr("eolabel.training.tasks.score_chunk_task.delay", lambda *a, **k: None)

    scoring_pass = scoring.scoring_pass_start(project=trained, model_version=version, chunk_size=2)

    chunks = list(ScoringChunk.objects.filter(scoring_pass=scoring_pass))
    assert scoring_pass.chunks_total == len(chunks) == 3
    results = [
        scoring.score_chunk(project_id=trained.pk, model_version=version, chip_ids=c.chip_ids, chunk_id=c.pk)
        for c in chunks[:2]
    ]
    assert (
        results == [False, False]
        and not ProjectChip.objects.filter(project=trained, score__isnull=False).exists()
    )
    again = scoring.score_chunk(
        project_id=trained.pk, model_version=version, chip_ids=chunks[0].chip_ids, chunk_id=chunks[0].pk
    )
    last = scoring.score_chunk(
        project_id=trained.pk, model_version=version, chip_ids=chunks[2].chip_ids, chunk_id=chunks[2].pk
    )
    repeat = scoring.score_chunk(
        project_id=trained.pk, model_version=version, chip_ids=chunks[2].chip_ids, chunk_id=chunks[2].pk
    )
    assert (again, last, repeat) == (False, True, False)
    assert ScoringPass.objects.get(pk=scoring_pass.pk).activated
    assert ChipScore.objects.filter(project=trained, model_version=version).count() == 5
    assert ProjectChip.objects.filter(project=trained, score__isnull=False).count() == 5
