import weakref

import numpy as np
import pytest
import torch

from ml.errors import ConfigError
from ml.models import UNet, VehicleNet
from ml.strategies.pool import PoolChip, band_statistics, collect, score_pool, unbatch

torch.set_num_threads(1)


def tiny_unet() -> UNet:
    torch.manual_seed(0)
    return UNet(3, 3, depth=2, width=8, dropout=0.2)


def images(n: int, size: int = 16) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(n, 3, size, size)).astype(np.float32)


class TrackedPool:
    """Yields chips whose images report when they are freed, to count how many are alive at once."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.alive = 0
        self.max_alive = 0
        self.pulled = 0

    def _release(self) -> None:
        self.alive -= 1

    def _image(self, i: int) -> np.ndarray:
        image = self.data[i].copy()
        weakref.finalize(image, self._release)
        self.alive += 1
        self.pulled += 1
        self.max_alive = max(self.max_alive, self.alive)
        return image

    def __iter__(self):
        for i in range(len(self.data)):
            yield PoolChip(f"chip-{i}", self._image(i))


def test_score_pool_never_holds_more_than_one_chunk_of_images():
    pool = TrackedPool(images(23))

    results = list(score_pool(pool, tiny_unet(), strategy="entropy", chunk_size=5))

    assert len(results) == 23
    assert pool.max_alive <= 5
    assert pool.alive == 0


def test_score_pool_is_lazy_and_pulls_one_chunk_for_the_first_result():
    pool = TrackedPool(images(23))

    first = next(score_pool(pool, tiny_unet(), strategy="entropy", chunk_size=4))

    assert first.chip_id == "chip-0"
    assert pool.pulled == 4


def test_chunked_results_equal_unchunked():
    data = images(7)
    model = tiny_unet()
    chips = [PoolChip(i, data[i]) for i in range(7)]

    small = collect(score_pool(chips, model, strategy="margin", chunk_size=3, batch_size=2))
    whole = collect(score_pool(chips, model, strategy="margin", chunk_size=100, batch_size=8))

    assert small.chip_ids == whole.chip_ids == list(range(7))
    assert np.allclose(small.scores, whole.scores, atol=1e-6)
    assert np.allclose(small.embeddings, whole.embeddings, atol=1e-5)
    assert small.embeddings.shape == (7, model.embed_dim)
    assert np.all(small.scores > 0) and np.all(small.scores <= 1)


def test_bald_needs_mc_samples_and_is_reproducible_with_a_seed():
    chips = [PoolChip(i, x) for i, x in enumerate(images(4))]
    model = tiny_unet()

    with pytest.raises(ConfigError):
        list(score_pool(chips, model, strategy="bald", mc_samples=0))
    a = collect(score_pool(chips, model, strategy="bald", mc_samples=4, seed=1, embeddings=False))
    b = collect(score_pool(chips, model, strategy="bald", mc_samples=4, seed=1, embeddings=False))

    assert np.array_equal(a.scores, b.scores)
    assert np.all(a.scores > 0)  # dropout makes the passes disagree somewhere
    assert a.embeddings.shape == (4, 0)


def test_chip_without_valid_pixels_scores_zero():
    data = images(2)
    chips = [PoolChip(0, data[0], np.zeros((16, 16), bool)), PoolChip(1, data[1])]

    scores = collect(score_pool(chips, tiny_unet(), strategy="entropy", embeddings=False)).scores

    assert scores[0] == 0.0 and scores[1] > 0.0


def test_vehicle_pool_scores_from_the_heatmap():
    torch.manual_seed(0)
    model = VehicleNet(3, depth=2, width=8, stride=2)
    chips = [PoolChip(i, x) for i, x in enumerate(images(3))]

    peaks = collect(score_pool(chips, model, strategy="peaks", task="vehicles"))
    ent = collect(score_pool(chips, model, strategy="entropy", task="vehicles", embeddings=False))

    assert peaks.scores.shape == (3,) and np.all((peaks.scores >= 0) & (peaks.scores <= 1))
    assert np.all(ent.scores > 0)
    with pytest.raises(ConfigError):
        list(score_pool(chips, model, strategy="margin", task="vehicles"))


def test_band_statistics_hand_computed_with_valid_mask():
    x = np.zeros((1, 2, 2, 2), np.float32)
    x[0, 0] = [[1, 3], [100, 100]]
    x[0, 1] = [[2, 2], [-5, -5]]
    valid = np.array([[[True, True], [False, False]]])

    emb = band_statistics(x, valid=valid)

    assert emb.tolist() == [[2.0, 2.0, 1.0, 0.0]]


def test_loader_batches_are_flattened_and_score_like_single_chips():
    data = images(5)
    batches = [
        {"image": torch.from_numpy(data[:2]), "chip_id": ["a", "b"]},
        {
            "image": torch.from_numpy(data[2:]),
            "chip_id": ["c", "d", "e"],
            "valid": np.ones((3, 16, 16), bool),
        },
    ]
    model = tiny_unet()

    from_loader = collect(score_pool(unbatch(batches), model, strategy="entropy", chunk_size=2))
    direct = collect(
        score_pool([PoolChip(c, x) for c, x in zip("abcde", data, strict=True)], model, strategy="entropy")
    )

    assert from_loader.chip_ids == list("abcde")
    assert np.allclose(from_loader.scores, direct.scores, atol=1e-6)
