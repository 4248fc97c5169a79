"""CPU throughput of the default models: ``python -m ml.bench [--threads N] [--size PX]``.

Prints megapixels per second for U-Net (13 Sentinel-2 bands) and VehicleNet (4 VHR bands)
inference, with MC dropout, and the time of one training step. Not a test; takes well under a minute.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ml.inference import predict_proba, vehicle_heatmap_proba
from ml.losses import segmentation_loss
from ml.models import UNet, VehicleNet


def _best_of(fn: Callable[[], object], *, repeats: int) -> float:
    fn()  # warm-up (allocations, oneDNN kernels)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _train_step_s(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, repeats: int) -> float:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()

    def step() -> None:
        optimizer.zero_grad()
        segmentation_loss(model(x), y).backward()
        optimizer.step()

    return _best_of(step, repeats=repeats)


def run(*, threads: int, size: int, batch: int, repeats: int) -> list[str]:
    """Benchmark and return the report lines."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    lines = [
        f"torch {torch.__version__}, torch.set_num_threads({threads}) -> {torch.get_num_threads()} threads"
    ]
    megapixels = batch * size * size / 1e6
    unet = UNet(13, 5, depth=4, width=16)
    vehicles = VehicleNet(4, 1, depth=3, width=16)
    s2 = rng.normal(size=(batch, 13, size, size)).astype(np.float32)
    vhr = rng.normal(size=(batch, 4, size, size)).astype(np.float32)
    cases = [
        ("UNet 13 bands d4 w16", lambda: predict_proba(unet, s2, batch_size=batch)),
        ("UNet 13 bands, MC dropout x4", lambda: predict_proba(unet, s2, batch_size=batch, mc_samples=4)),
        ("VehicleNet 4 bands d3 w16", lambda: vehicle_heatmap_proba(vehicles, vhr, batch_size=batch)),
    ]
    for name, fn in cases:
        seconds = _best_of(fn, repeats=repeats)
        samples = 4 if "MC" in name else 1
        lines.append(
            f"{name:32s} {megapixels / seconds:7.2f} MP/s  ({batch}x{size}x{size} px in {seconds * 1000:.0f} ms"
            f"{', 4 samples' if samples > 1 else ''})"
        )
    x = torch.from_numpy(s2)
    y = torch.from_numpy(rng.integers(0, 5, size=(batch, size, size)))
    step = _train_step_s(unet, x, y, repeats=repeats)
    lines.append(
        f"{'UNet training step':32s} {step * 1000:7.0f} ms   (batch {batch}x13x{size}x{size}, AdamW)"
    )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, default=256, help="chip side in pixels (multiple of 16)")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    for line in run(threads=args.threads, size=args.size, batch=args.batch, repeats=args.repeats):
        print(line, flush=True)


if __name__ == "__main__":
    main()
