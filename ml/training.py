"""Training loop for segmentation and detection: seeded, resumable, stoppable, CPU-friendly.

Determinism: each epoch's shuffle, augmentation (``dataset.set_epoch``) and dropout draws derive
from ``(seed, epoch)``, and a checkpoint stores the RNG state mid-epoch, so the same seed gives the
same weights, and "train N epochs" equals "train k, checkpoint, resume to N". The caller's global
RNG is left untouched. Checkpoints are safetensors files (no pickle) written atomically.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn
from torch.utils.data import Dataset

from ml.data.classes import IGNORE_INDEX
from ml.data.datasets import collate
from ml.errors import CheckpointError, TrainingError
from ml.losses import detection_loss, segmentation_loss
from ml.models.vehicles import CenterTargets, encode_batch_targets

TASKS = ("segmentation", "detection")
CHECKPOINT_FORMAT = 1
DEFAULT_MAX_THREADS = 2


@dataclass(frozen=True)
class TrainProgress:
    """One optimisation step's report: 0-based ``epoch``, global ``step`` (1-based), batch loss."""

    epoch: int
    step: int
    loss: float
    batch: int
    batches_per_epoch: int
    epochs: int | None
    elapsed_s: float


@dataclass(frozen=True)
class TrainResult:
    """What a ``train`` call did; ``stopped`` is True only when ``should_stop`` asked for it."""

    epochs_completed: int
    steps: int
    epoch_losses: list[float]
    last_loss: float | None
    stopped: bool
    reason: str  # "completed", "stopped" or "time_budget"
    elapsed_s: float
    val_losses: list[float] = field(default_factory=list)
    checkpoint_path: Path | None = None


@dataclass
class _State:
    epoch: int = 0
    batch_in_epoch: int = 0
    step: int = 0
    loss_sum: float = 0.0
    loss_count: int = 0
    last_loss: float | None = None
    epoch_losses: list[float] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)


def train(
    model: nn.Module,
    dataset: Dataset,
    *,
    task: str,
    epochs: int | None = None,
    time_budget_s: float | None = None,
    seed: int = 0,
    batch_size: int = 8,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    progress: Callable[[TrainProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    checkpoint_path: str | os.PathLike[str] | None = None,
    resume: bool = False,
    class_weights: Sequence[float] | torch.Tensor | None = None,
    dice_weight: float = 1.0,
    ignore_index: int = IGNORE_INDEX,
    val_dataset: Dataset | None = None,
    freeze_batchnorm: bool = False,
    num_threads: int | None = None,
) -> TrainResult:
    """Train ``model`` in place with AdamW for ``epochs`` (total, counting resumed ones) and/or ``time_budget_s``.

    ``should_stop`` is polled before every step; when it returns True the loop returns at once
    with the weights of the last finished step (and writes the checkpoint if a path is given).
    With ``resume`` and an existing ``checkpoint_path`` the model, optimiser, RNG and progress are
    restored first (a checkpoint from a different run setting raises CheckpointError); without a
    file training starts fresh. ``freeze_batchnorm`` keeps batch-norm statistics fixed (small
    fine-tuning sets). ``num_threads`` sets torch's intra-op threads for the call; by default the
    current setting capped at two (a CPU-friendly share of a small worker).
    """
    _check_args(task=task, epochs=epochs, time_budget_s=time_budget_s, batch_size=batch_size, dataset=dataset)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay)
    run = {"task": task, "seed": seed, "batch_size": batch_size, "lr": lr, "samples": len(dataset)}
    path = Path(checkpoint_path) if checkpoint_path is not None else None
    state = _State()
    rng_state: torch.Tensor | None = None
    if resume and path is not None and path.exists():
        state, rng_state = _load_checkpoint(path, model=model, optimizer=optimizer, run=run)
    loss_fn = _loss_fn(task, class_weights=class_weights, dice_weight=dice_weight, ignore_index=ignore_index)
    device = next(iter(model.parameters()), torch.empty(0)).device
    was_training = model.training
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(
        num_threads if num_threads is not None else min(DEFAULT_MAX_THREADS, previous_threads)
    )
    start = time.monotonic()
    reason = "completed"
    try:
        with torch.random.fork_rng():
            while epochs is None or state.epoch < epochs:
                if state.batch_in_epoch == 0:
                    torch.manual_seed(_derive(seed, state.epoch, 1))
                elif rng_state is not None:  # resuming mid-epoch: continue the saved dropout stream
                    torch.set_rng_state(rng_state)
                rng_state = None
                batches = _epoch_batches(len(dataset), batch_size, _derive(seed, state.epoch, 2))
                if hasattr(dataset, "set_epoch"):
                    dataset.set_epoch(state.epoch)
                _set_train_mode(model, freeze_batchnorm=freeze_batchnorm)
                while state.batch_in_epoch < len(batches):
                    if should_stop is not None and should_stop():
                        reason = "stopped"
                        break
                    if time_budget_s is not None and time.monotonic() - start >= time_budget_s:
                        reason = "time_budget"
                        break
                    batch = _to_device(collate([dataset[i] for i in batches[state.batch_in_epoch]]), device)
                    loss = _step(model, optimizer, loss_fn, batch)
                    state.batch_in_epoch += 1
                    state.step += 1
                    state.loss_sum += loss
                    state.loss_count += 1
                    state.last_loss = loss
                    if progress is not None:
                        progress(
                            TrainProgress(
                                state.epoch,
                                state.step,
                                loss,
                                state.batch_in_epoch,
                                len(batches),
                                epochs,
                                time.monotonic() - start,
                            )
                        )
                if reason != "completed":
                    break
                state.epoch_losses.append(state.loss_sum / max(state.loss_count, 1))
                state.epoch, state.batch_in_epoch, state.loss_sum, state.loss_count = (
                    state.epoch + 1,
                    0,
                    0.0,
                    0,
                )
                if val_dataset is not None:
                    state.val_losses.append(
                        evaluate_loss(model, val_dataset, task=task, batch_size=batch_size, loss_fn=loss_fn)
                    )
                if path is not None:
                    _save_checkpoint(path, model=model, optimizer=optimizer, state=state, run=run)
            if path is not None and reason != "completed":
                _save_checkpoint(path, model=model, optimizer=optimizer, state=state, run=run)
    finally:
        model.train(was_training)
        torch.set_num_threads(previous_threads)
    return TrainResult(
        epochs_completed=state.epoch,
        steps=state.step,
        epoch_losses=list(state.epoch_losses),
        last_loss=state.last_loss,
        stopped=reason == "stopped",
        reason=reason,
        elapsed_s=time.monotonic() - start,
        val_losses=list(state.val_losses),
        checkpoint_path=path,
    )


LossFn = Callable[[nn.Module, dict[str, Any]], torch.Tensor]


def evaluate_loss(
    model: nn.Module, dataset: Dataset, *, task: str, batch_size: int = 8, loss_fn: LossFn | None = None
) -> float:
    """Mean loss over a dataset in eval mode (no augmentation draws change, no gradients)."""
    loss_fn = loss_fn or _loss_fn(task, class_weights=None, dice_weight=1.0, ignore_index=IGNORE_INDEX)
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        with torch.no_grad():
            for start in range(0, len(dataset), batch_size):
                indices = range(start, min(start + batch_size, len(dataset)))
                batch = _to_device(collate([dataset[i] for i in indices]), next(model.parameters()).device)
                total += float(loss_fn(model, batch)) * len(indices)
                count += len(indices)
    finally:
        model.train(was_training)
    return total / max(count, 1)


def _loss_fn(
    task: str,
    *,
    class_weights: Sequence[float] | torch.Tensor | None,
    dice_weight: float,
    ignore_index: int,
) -> LossFn:
    if task == "segmentation":

        def segmentation(model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
            return segmentation_loss(
                model(batch["image"]),
                batch["mask"],
                class_weights=class_weights,
                dice_weight=dice_weight,
                ignore_index=ignore_index,
            )

        return segmentation

    def detection(model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        outputs = model(batch["image"])
        targets = encode_batch_targets(
            batch["boxes"],
            batch["labels"],
            num_classes=outputs["heatmap"].shape[1],
            output_shape=tuple(outputs["heatmap"].shape[-2:]),
            stride=int(outputs["stride"]),
        )
        device = outputs["heatmap"].device
        targets = CenterTargets(
            *(getattr(targets, f).to(device) for f in ("heatmap", "size", "offset", "mask"))
        )
        return detection_loss(outputs, targets)[0]

    return detection


def _step(
    model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: LossFn, batch: dict[str, Any]
) -> float:
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(model, batch)
    if not torch.isfinite(loss):
        raise TrainingError(f"the loss is not finite ({float(loss)}); lower the learning rate")
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def _to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """Move stacked tensors to the model's device; per-image box lists stay on the CPU for encoding."""
    return {key: value if isinstance(value, list) else value.to(device) for key, value in batch.items()}


def _set_train_mode(model: nn.Module, *, freeze_batchnorm: bool) -> None:
    model.train()
    if freeze_batchnorm:
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()


def _epoch_batches(n: int, batch_size: int, seed: int) -> list[list[int]]:
    """Shuffled index batches; a trailing batch of one joins the previous one (batch norm needs > 1)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    if len(batches) > 1 and len(batches[-1]) == 1:
        batches[-2].extend(batches.pop())
    return batches


def _derive(seed: int, epoch: int, stream: int) -> int:
    """A 63-bit seed for (seed, epoch, stream), stable across runs and platforms."""
    value = (seed * 1_000_003 + epoch) * 1_000_033 + stream
    return (value * 6364136223846793005 + 1442695040888963407) % (2**63)


def _check_args(
    *, task: str, epochs: int | None, time_budget_s: float | None, batch_size: int, dataset: Dataset
) -> None:
    if task not in TASKS:
        raise TrainingError(f"task must be one of {TASKS}, got {task!r}")
    if epochs is None and time_budget_s is None:
        raise TrainingError("give epochs, time_budget_s or both")
    if epochs is not None and epochs < 0:
        raise TrainingError(f"epochs must be >= 0, got {epochs}")
    if time_budget_s is not None and not (time_budget_s >= 0 and math.isfinite(time_budget_s)):
        raise TrainingError(f"time_budget_s must be a finite number >= 0, got {time_budget_s}")
    if batch_size < 1:
        raise TrainingError(f"batch_size must be >= 1, got {batch_size}")
    if len(dataset) == 0:
        raise TrainingError("the dataset is empty")
    dataset_task = getattr(dataset, "task", task)
    if dataset_task != task:
        raise TrainingError(f"task {task!r} but the dataset is for {dataset_task!r}")


def _save_checkpoint(
    path: Path, *, model: nn.Module, optimizer: torch.optim.Optimizer, state: _State, run: dict[str, Any]
) -> None:
    tensors = {f"model/{k}": v.detach().contiguous() for k, v in model.state_dict().items()}
    scalars: dict[str, dict[str, Any]] = {}
    for index, values in optimizer.state_dict()["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim/{index}/{key}"] = value.detach().contiguous()
            else:
                scalars.setdefault(str(index), {})[key] = value
    tensors["rng/torch"] = torch.get_rng_state()
    meta = {"format": CHECKPOINT_FORMAT, "run": run, "state": vars(state), "optim_scalars": scalars}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        save_file(tensors, str(tmp), metadata={"eolabel": json.dumps(meta)})
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _load_checkpoint(
    path: Path, *, model: nn.Module, optimizer: torch.optim.Optimizer, run: dict[str, Any]
) -> tuple[_State, torch.Tensor]:
    try:
        tensors = load_file(str(path))
        with safe_open(str(path), framework="pt") as handle:
            meta = json.loads((handle.metadata() or {})["eolabel"])
    except (SafetensorError, OSError, KeyError, ValueError) as exc:
        raise CheckpointError(f"unreadable checkpoint {path}: {exc}") from exc
    if meta.get("format") != CHECKPOINT_FORMAT or meta.get("run") != run:
        raise CheckpointError(f"checkpoint {path} belongs to another run setting: {meta.get('run')} != {run}")
    model_state = {k.removeprefix("model/"): v for k, v in tensors.items() if k.startswith("model/")}
    optim_state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optim/"):
            _, index, name = key.split("/", 2)
            optim_state.setdefault(int(index), {})[name] = value
    for index, values in meta["optim_scalars"].items():
        optim_state.setdefault(int(index), {}).update(values)
    try:
        model.load_state_dict(model_state, strict=True)
        optimizer.load_state_dict(
            {"state": optim_state, "param_groups": optimizer.state_dict()["param_groups"]}
        )
    except (RuntimeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"checkpoint {path} does not fit this model: {exc}") from exc
    return _State(**meta["state"]), tensors["rng/torch"]
