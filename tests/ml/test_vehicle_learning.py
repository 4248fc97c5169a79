"""The vehicle detector learns from a handful of labelled chips and generalises to unseen ones.

Guards the simulator's vehicle curve: if training, target encoding, decoding or AP break, the
held-out AP falls to about 0 and this fails.
"""

import time

import numpy as np

from ml.simulate import SimConfig, evaluate, train_model
from ml.simulate.data import vehicle_data

CAR = (9, 4)  # 4.5 x 1.8 m at 0.5 m, as in the demo archive


def car_park_chips(n_chips: int, *, seed: int, size: int = 64) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Raw 3-band chips (asphalt with noise) holding 0-5 cars, bright or dark, either orientation."""
    rng = np.random.default_rng(seed)
    images, boxes = [], []
    slots = [(x, y) for y in range(4, size - 12, 14) for x in range(4, size - 12, 14)]
    for _ in range(n_chips):
        image = 900 + 60 * rng.standard_normal((3, size, size))
        chip_boxes = []
        for slot in rng.permutation(len(slots))[: rng.integers(0, 6)]:
            x, y = slots[slot]
            w, h = CAR if rng.random() < 0.5 else CAR[::-1]
            image[:, y : y + h, x : x + w] += rng.choice([-500.0, 900.0]) + 40 * rng.standard_normal(
                (3, 1, 1)
            )
            chip_boxes.append([x, y, x + w, y + h])
        images.append(np.clip(image, 1, None).astype(np.uint16))
        boxes.append(np.asarray(chip_boxes, dtype=np.float32).reshape(-1, 4))
    return images, boxes


def test_vehicle_model_reaches_a_useful_ap_on_unseen_chips_within_seconds():
    images, boxes = car_park_chips(24, seed=5)
    data = vehicle_data([np.stack(images)], boxes, groups=[0] * 24, chip_ids=[f"c{i}" for i in range(24)])
    train_idx, test_idx = np.arange(8), np.arange(8, 24)
    config = SimConfig(task="vehicles", width=8, depth=2, steps=100)

    started = time.process_time()  # CPU time: robust to other jobs on a shared box
    model = train_model(data, train_idx, config=config, seed=0)
    scores = evaluate(model, data, test_idx)
    elapsed = time.process_time() - started

    assert sum(len(boxes[i]) for i in test_idx) > 20  # the held-out chips hold enough cars to score
    assert scores["ap50"] > 0.3, scores
    assert scores["recall"] > 0.3, scores
    assert elapsed < 10.0
