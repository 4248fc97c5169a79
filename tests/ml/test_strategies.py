import math

import numpy as np
import pytest

from ml.strategies import (
    aggregate,
    binary_entropy,
    cold_start,
    entropy,
    least_confidence,
    margin,
    mutual_information,
    peak_uncertainty_score,
    random_batch,
    ranked_batch,
    top_fraction_score,
    top_k,
)
from ml.strategies.pool import cloud_chip_scores

# three chips of 2x2 pixels, every pixel of a chip with the same 4-class distribution:
# A wins on margin (top two tie), B on least confidence (lowest max), C on entropy (flattest tail)
A = [0.5, 0.5, 0.0, 0.0]
B = [0.4, 0.3, 0.3, 0.0]
C = [0.45, 0.55 / 3, 0.55 / 3, 0.55 / 3]


def chips(*dists: list[float], size: int = 2) -> np.ndarray:
    return np.stack([np.broadcast_to(np.array(d)[:, None, None], (len(d), size, size)) for d in dists])


def test_measures_hand_computed_on_one_pixel():
    p = np.array([0.4, 0.3, 0.3, 0.0])[None, :, None, None]

    assert least_confidence(p)[0, 0, 0] == pytest.approx(0.6)
    assert margin(p)[0, 0, 0] == pytest.approx(0.9)
    assert entropy(p)[0, 0, 0] == pytest.approx(-(0.4 * math.log(0.4) + 0.6 * math.log(0.3)))
    assert entropy(p, normalise=True)[0, 0, 0] == pytest.approx(entropy(p)[0, 0, 0] / math.log(4))


def test_sure_pixels_score_zero_on_every_measure():
    p = chips([1.0, 0.0, 0.0, 0.0])

    for measure in (least_confidence, margin, entropy):
        assert np.allclose(measure(p), 0.0), measure.__name__


@pytest.mark.parametrize(
    ("measure", "expected"),
    [(least_confidence, 1), (margin, 0), (entropy, 2)],
)
def test_each_measure_picks_its_expected_chip(measure, expected):
    probs = chips(A, B, C)

    scores = aggregate(measure(probs), method="mean")

    assert top_k(scores, k=1).tolist() == [expected]


def test_margin_needs_two_classes():
    with pytest.raises(ValueError):
        margin(np.ones((1, 1, 2, 2)))


def test_bald_prefers_disagreeing_samples_over_agreeing_uncertain_ones():
    # chip 0: two MC samples that are each sure but disagree; chip 1: both samples say 50/50
    samples = np.zeros((2, 2, 2, 1, 1))
    samples[0, 0, :, 0, 0] = [1.0, 0.0]
    samples[1, 0, :, 0, 0] = [0.0, 1.0]
    samples[:, 1, :, 0, 0] = [0.5, 0.5]

    mi = mutual_information(samples)

    assert mi[0, 0, 0] == pytest.approx(math.log(2))
    assert mi[1, 0, 0] == pytest.approx(0.0, abs=1e-9)
    assert entropy(samples.mean(axis=0))[:, 0, 0] == pytest.approx([math.log(2)] * 2)  # entropy ties
    assert top_k(aggregate(mi), k=1).tolist() == [0]


def test_bald_ignores_invalid_pixels():
    samples = np.zeros((2, 1, 2, 1, 2))
    samples[0, 0, :, 0, :] = [[1.0, 1.0], [0.0, 0.0]]
    samples[1, 0, :, 0, :] = [[0.0, 0.0], [1.0, 1.0]]

    mi = mutual_information(samples, valid=np.array([[[True, False]]]))

    assert mi[0, 0, 0] == pytest.approx(math.log(2)) and mi[0, 0, 1] == 0.0


def test_top_fraction_finds_a_small_uncertain_region_the_mean_dilutes():
    diffuse = np.full((4, 4), 0.3)
    compact = np.zeros((4, 4))
    compact[0, :2] = 1.0
    pixel = np.stack([diffuse, compact])

    assert top_k(aggregate(pixel, method="mean"), k=1).tolist() == [0]
    # 10% of 16 pixels -> ceil(1.6) = 2 pixels
    assert top_fraction_score(pixel, fraction=0.1).tolist() == pytest.approx([0.3, 1.0])


def test_aggregation_excludes_invalid_pixels_and_empty_chips_score_zero():
    pixel = np.array([[[1.0, 0.0], [0.0, 0.0]], [[0.5, 0.5], [0.5, 0.5]]])
    valid = np.array([[[False, True], [True, True]], [[False, False], [False, False]]])

    assert aggregate(pixel, method="mean", valid=valid).tolist() == [0.0, 0.0]
    assert aggregate(pixel, method="top", fraction=0.5, valid=valid).tolist() == [0.0, 0.0]
    assert aggregate(pixel, method="mean", valid=valid[:1].repeat(2, 0)).tolist() == [0.0, 0.5]


def test_unknown_aggregation_raises():
    with pytest.raises(ValueError):
        aggregate(np.zeros((1, 2, 2)), method="max")


def test_vehicle_peak_uncertainty_scores_coin_toss_peaks_highest():
    heat = np.zeros((3, 8, 8))
    heat[0, 3, 3] = 0.5  # one ambiguous candidate
    heat[1, 3, 3] = 0.95  # one sure car
    heat[1, 6, 6] = 0.95
    heat[2, 4, 4] = 0.01  # below the candidate threshold: nothing

    scores = peak_uncertainty_score(heat, min_score=0.05)

    assert scores.tolist() == pytest.approx([1.0, 0.1, 0.0])
    assert binary_entropy(np.array([0.5]))[0] == pytest.approx(math.log(2))


def test_top_k_breaks_ties_by_index_and_returns_int64():
    idx = top_k(np.array([0.1, 0.9, 0.9, 0.5]), k=3)

    assert idx.dtype == np.int64 and idx.tolist() == [1, 2, 3]


def test_random_batch_is_seeded_distinct_and_clipped():
    a = random_batch(10, k=4, seed=3)

    assert np.array_equal(a, random_batch(10, k=4, seed=3))
    assert not np.array_equal(a, random_batch(10, k=4, seed=4))
    assert len(set(a.tolist())) == 4 and a.dtype == np.int64
    assert sorted(random_batch(3, k=10, seed=0).tolist()) == [0, 1, 2]


def near_duplicates_and_distinct(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    duplicates = rng.normal(size=(1, 8)) + 0.01 * rng.normal(size=(20, 8))
    distinct = 3.0 * rng.normal(size=(5, 8))
    scores = np.concatenate([0.9 + 0.01 * rng.random(20), np.full(5, 0.6)])
    return np.concatenate([duplicates, distinct]), scores


def test_top_k_picks_near_duplicates_but_ranked_batch_picks_distinct_chips():
    embeddings, scores = near_duplicates_and_distinct()
    labelled = np.random.default_rng(1).normal(size=(3, 8))

    greedy = top_k(scores, k=5)
    ranked = ranked_batch(embeddings, scores, labelled=labelled, k=5)

    assert all(i < 20 for i in greedy)  # five copies of the same chip
    assert ranked.dtype == np.int64 and len(set(ranked.tolist())) == 5
    assert sum(i < 20 for i in ranked) <= 1  # at most one of the duplicates


def test_ranked_batch_without_labelled_chips_and_with_a_candidate_prefilter():
    embeddings, scores = near_duplicates_and_distinct()

    cold = ranked_batch(embeddings, scores, labelled=None, k=4)
    prefiltered = ranked_batch(embeddings, scores, labelled=None, k=3, candidates=20)

    assert len(set(cold.tolist())) == 4 and sum(i < 20 for i in cold) <= 1
    assert all(i < 20 for i in prefiltered)  # only the 20 most uncertain were candidates


def test_ranked_batch_prefers_uncertain_chip_among_equally_distant_ones():
    embeddings = np.array([[0.0, 0.0], [5.0, 0.0], [-5.0, 0.0], [0.0, 5.0]])
    scores = np.array([0.0, 0.1, 0.9, 0.2])

    first = ranked_batch(embeddings, scores, labelled=np.array([[0.0, 0.0]]), k=1)

    assert first.tolist() == [2]


def test_cold_start_covers_every_cluster():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    points = np.concatenate([c + 0.1 * rng.normal(size=(10, 2)) for c in centres])

    picked = cold_start(points, k=3)

    assert sorted((picked // 10).tolist()) == [0, 1, 2]


def test_bald_per_pixel_mutual_information_hand_computed_and_averaged_per_chip():
    # given three MC samples of one 2-pixel chip with three classes; pixel 1: every sample agrees
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.4, 0.4, 0.2]])
    samples = np.zeros((3, 1, 3, 1, 2))
    samples[:, 0, :, 0, 0] = p
    samples[:, 0, :, 0, 1] = [0.6, 0.3, 0.1]

    def h(q):
        return -sum(v * math.log(v) for v in q)

    expected = h(p.mean(axis=0)) - np.mean([h(q) for q in p])  # entropy of the mean - mean entropy
    mi = mutual_information(samples)

    assert mi[0, 0, 0] == pytest.approx(expected) and expected > 0.1
    assert mi[0, 0, 1] == pytest.approx(0.0, abs=1e-12)
    assert cloud_chip_scores(samples, strategy="bald")[0] == pytest.approx(expected / 2)  # chip mean
