import numpy as np
import pytest
import torch

from ml.data import ChipDataset
from ml.errors import CheckpointError, TrainingError
from ml.losses import class_weights_from_masks, dice_loss, focal_loss, segmentation_loss
from ml.models import UNet, VehicleNet
from ml.training import TrainProgress, train


def _unet(seed: int = 0) -> UNet:
    torch.manual_seed(seed)
    return UNet(4, 3, depth=2, width=8, dropout=0.2)


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_ignored_pixels_contribute_zero_gradient():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 8, 8, requires_grad=True)
    target = torch.randint(0, 3, (2, 8, 8))
    target[:, :, 4:] = 255  # only the left half was corrected by an annotator

    loss = segmentation_loss(logits, target, class_weights=[1.0, 2.0, 0.5], dice_weight=1.0)
    loss.backward()

    assert torch.all(logits.grad[:, :, :, 4:] == 0)
    assert torch.all(logits.grad[:, :, :, :4].abs().sum(dim=1) > 0)


def test_loss_does_not_depend_on_logits_at_ignored_pixels():
    torch.manual_seed(1)
    logits = torch.randn(1, 3, 8, 8)
    target = torch.randint(0, 3, (1, 8, 8))
    target[0, :2] = 255
    changed = logits.clone()
    changed[:, :, :2] = 100 * torch.randn(1, 3, 2, 8)

    assert segmentation_loss(logits, target) == segmentation_loss(changed, target)
    assert segmentation_loss(logits, target) != segmentation_loss(logits, torch.zeros_like(target))


def test_an_entirely_ignored_mask_gives_zero_loss_that_still_backpropagates():
    logits = torch.randn(1, 2, 4, 4, requires_grad=True)

    loss = segmentation_loss(logits, torch.full((1, 4, 4), 255))
    loss.backward()

    assert loss.item() == 0.0 and torch.all(logits.grad == 0)


def test_dice_loss_is_zero_for_a_confident_correct_prediction_and_high_for_a_wrong_one():
    target = torch.tensor([[[0, 1], [1, 0]]])
    right = 50 * torch.nn.functional.one_hot(target, 2).permute(0, 3, 1, 2).float()

    assert float(dice_loss(right, target)) < 1e-6
    assert float(dice_loss(-right, target)) > 0.5


def test_class_weights_favour_rare_classes_and_skip_ignored_pixels():
    masks = [np.array([[0, 0, 0, 1], [0, 0, 0, 255]])]

    weights = class_weights_from_masks(masks, num_classes=3)

    np.testing.assert_allclose(weights.numpy(), [2 / (1 + 6**0.5), 2 * 6**0.5 / (1 + 6**0.5), 1.0], rtol=1e-6)


def test_focal_loss_rewards_peaks_at_centres():
    target = torch.zeros(1, 1, 5, 5)
    target[0, 0, 2, 2] = 1.0
    good = torch.full((1, 1, 5, 5), -8.0)
    good[0, 0, 2, 2] = 8.0

    assert float(focal_loss(good, target)) < 0.01
    assert float(focal_loss(-good, target)) > 5.0


def test_training_twice_with_the_same_seed_gives_identical_weights(seg_chips):
    ds = ChipDataset(*seg_chips, augment=True)
    a, b, c = _unet(), _unet(), _unet()

    train(a, ds, task="segmentation", epochs=2, batch_size=2, seed=3)
    train(b, ds, task="segmentation", epochs=2, batch_size=2, seed=3)
    train(c, ds, task="segmentation", epochs=2, batch_size=2, seed=4)

    assert _same_weights(a, b)
    assert not _same_weights(a, c)


def test_two_epochs_equal_one_epoch_checkpoint_and_resume(seg_chips, tmp_path):
    ds = ChipDataset(*seg_chips, augment=True)
    straight, split = _unet(), _unet()
    ckpt = tmp_path / "run.safetensors"

    full = train(straight, ds, task="segmentation", epochs=2, batch_size=2)
    first = train(split, ds, task="segmentation", epochs=1, batch_size=2, checkpoint_path=ckpt)
    resumed_model = _unet(seed=99)  # different init: everything must come from the checkpoint
    second = train(
        resumed_model, ds, task="segmentation", epochs=2, batch_size=2, checkpoint_path=ckpt, resume=True
    )

    assert first.epochs_completed == 1 and second.epochs_completed == 2 and second.steps == full.steps == 4
    assert _same_weights(straight, resumed_model)
    assert second.epoch_losses == full.epoch_losses


def test_should_stop_returns_cleanly_mid_epoch_and_resume_finishes_the_same_run(seg_chips, tmp_path):
    ds = ChipDataset(*seg_chips, augment=True)
    straight, stopped_model = _unet(), _unet()
    ckpt = tmp_path / "run.safetensors"
    reports: list[TrainProgress] = []

    train(straight, ds, task="segmentation", epochs=2, batch_size=2)
    stopped = train(
        stopped_model,
        ds,
        task="segmentation",
        epochs=2,
        batch_size=2,
        checkpoint_path=ckpt,
        progress=reports.append,
        should_stop=lambda: len(reports) >= 3,
    )
    after_stop = {k: v.clone() for k, v in stopped_model.state_dict().items()}
    resumed = train(
        stopped_model, ds, task="segmentation", epochs=2, batch_size=2, checkpoint_path=ckpt, resume=True
    )

    assert stopped.stopped and stopped.reason == "stopped" and stopped.steps == 3
    assert stopped.epochs_completed == 1 and [r.step for r in reports] == [1, 2, 3]
    assert all(torch.isfinite(v.float()).all() for v in after_stop.values())
    assert not resumed.stopped and resumed.steps == 4
    assert _same_weights(straight, stopped_model)


def test_a_zero_time_budget_takes_no_step(seg_chips):
    model = _unet()
    before = {k: v.clone() for k, v in model.state_dict().items()}

    result = train(model, ChipDataset(*seg_chips), task="segmentation", time_budget_s=0)

    assert result.steps == 0 and result.reason == "time_budget" and not result.stopped
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_training_leaves_the_callers_random_state_alone(seg_chips):
    model = _unet()
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)

    train(model, ChipDataset(*seg_chips, augment=True), task="segmentation", epochs=1, batch_size=2)

    assert torch.equal(torch.rand(3), expected)


def test_resume_refuses_a_checkpoint_from_another_run_setting(seg_chips, tmp_path):
    ds = ChipDataset(*seg_chips)
    ckpt = tmp_path / "run.safetensors"
    train(_unet(), ds, task="segmentation", epochs=1, batch_size=2, checkpoint_path=ckpt)

    with pytest.raises(CheckpointError, match="another run"):
        train(_unet(), ds, task="segmentation", epochs=2, batch_size=4, checkpoint_path=ckpt, resume=True)


def test_resume_without_a_checkpoint_starts_fresh(seg_chips, tmp_path):
    result = train(
        _unet(),
        ChipDataset(*seg_chips),
        task="segmentation",
        epochs=1,
        batch_size=2,
        checkpoint_path=tmp_path / "none.safetensors",
        resume=True,
    )

    assert result.epochs_completed == 1 and (tmp_path / "none.safetensors").exists()


@pytest.mark.parametrize(
    "kwargs",
    [{"task": "segmentation"}, {"task": "classification", "epochs": 1}, {"task": "detection", "epochs": 1}],
)
def test_invalid_training_arguments_raise(seg_chips, kwargs):
    with pytest.raises(TrainingError):
        train(_unet(), ChipDataset(*seg_chips), **kwargs)


def test_validation_loss_is_reported_per_epoch_and_batch_norm_can_be_frozen(seg_chips):
    model = _unet()
    running_mean = model.encoder.stem[1].running_mean.clone()
    ds = ChipDataset(*seg_chips)

    result = train(
        model, ds, task="segmentation", epochs=2, batch_size=2, val_dataset=ds, freeze_batchnorm=True
    )

    assert len(result.val_losses) == 2 and all(np.isfinite(result.val_losses))
    assert torch.equal(model.encoder.stem[1].running_mean, running_mean)


def test_detection_training_runs_with_resume(box_chips, tmp_path):
    ds = ChipDataset(*[box_chips[0]], boxes=box_chips[1], augment=True)
    torch.manual_seed(0)
    a = VehicleNet(3, 1, depth=2, width=8)
    torch.manual_seed(0)
    b = VehicleNet(3, 1, depth=2, width=8)
    ckpt = tmp_path / "det.safetensors"

    train(a, ds, task="detection", epochs=2, batch_size=2)
    train(b, ds, task="detection", epochs=1, batch_size=2, checkpoint_path=ckpt)
    train(b, ds, task="detection", epochs=2, batch_size=2, checkpoint_path=ckpt, resume=True)

    assert _same_weights(a, b)
