"""``python -m ml.simulate``: run the simulator and write CSV, PNG and summary."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ml.errors import MLError
from ml.simulate.data import (
    SimData,
    binary_cloud,
    load_cloud_folder,
    load_vehicle_folder,
    parse_mask_mapping,
    split,
)
from ml.simulate.loop import METRIC, STRATEGIES, SimConfig, simulate
from ml.simulate.report import (
    TARGET_FRACTION,
    plot_learning_curves,
    read_csv,
    summarise,
    write_csv,
    write_summary,
)
from ml.simulate.synthetic import synthetic_cloud, synthetic_vehicles


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ml.simulate", description=__doc__)
    p.add_argument("--task", choices=sorted(METRIC), default="cloud")
    p.add_argument("--strategy", action="append", help=f"repeat or comma-separate: {', '.join(STRATEGIES)}")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--initial", type=int, default=8)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--data", type=Path, help="folder of <name>.tif + <name>_mask.tif (or _vehicles.geojson)")
    p.add_argument("--out", type=Path, default=Path("var/sim"))
    p.add_argument(
        "--mask-mapping", help="'ukis' or 'src:dst,...' onto 0 clear,1 thick,2 thin,3 shadow,4 snow"
    )
    p.add_argument("--cloud-classes", default="1,2", help="classes counted as cloud for F2 (default 1,2)")
    p.add_argument("--binary", action="store_true", help="train on cloud / not cloud instead of every class")
    p.add_argument(
        "--chip-size",
        type=int,
        help="default 32 for clouds, 64 for vehicles (a 32 px chip holds one car or none)",
    )
    p.add_argument("--scenes", type=int, default=12, help="synthetic scenes when --data is omitted")
    p.add_argument("--scene-size", type=int, default=256)
    p.add_argument("--test-fraction", type=float, default=0.25)
    p.add_argument("--data-seed", type=int, default=0)
    defaults = SimConfig()
    p.add_argument("--width", type=int, default=defaults.width)
    p.add_argument("--depth", type=int, default=defaults.depth)
    p.add_argument("--steps", type=int, default=defaults.steps, help="optimisation steps per training")
    p.add_argument("--lr", type=float, default=defaults.lr)
    p.add_argument("--mc-samples", type=int, default=defaults.mc_samples)
    p.add_argument(
        "--dropout-kind",
        choices=["channel", "element"],
        default=defaults.dropout_kind,
        help="MC dropout: single activations (element) or whole feature maps (channel)",
    )
    p.add_argument("--aggregation", choices=["mean", "top"])
    p.add_argument("--ranked-candidates", type=int, default=0, help="ranked batch over the N most uncertain")
    p.add_argument("--pool-sample", type=int, default=0, help="score a random N of the pool each round")
    p.add_argument("--initial-selection", choices=["random", "diverse"], default="random")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--threads", type=int, default=1, help="torch threads per run")
    p.add_argument(
        "--target-fraction",
        type=float,
        default=TARGET_FRACTION,
        help="summary target: share of random's best",
    )
    p.add_argument(
        "--from-csv", type=Path, help="re-summarise and re-plot a simulation.csv without simulating"
    )
    return p


DEFAULT_CHIP_SIZE = {"cloud": 32, "vehicles": 64}


def load_data(args: argparse.Namespace) -> SimData:
    """The chips the arguments describe (a folder, or synthetic scenes)."""
    chip_size = args.chip_size or DEFAULT_CHIP_SIZE[args.task]
    cloud_classes = tuple(int(c) for c in args.cloud_classes.split(",") if c.strip())
    if args.data is not None:
        if not args.data.is_dir():
            raise MLError(f"--data {args.data} is not a folder")
        if args.task == "cloud":
            mapping = parse_mask_mapping(args.mask_mapping)
            return load_cloud_folder(
                args.data, chip_size=chip_size, mask_mapping=mapping, cloud_classes=cloud_classes
            )
        return load_vehicle_folder(args.data, chip_size=chip_size)
    make = synthetic_cloud if args.task == "cloud" else synthetic_vehicles
    return make(seed=args.data_seed, n_scenes=args.scenes, scene_size=args.scene_size, chip_size=chip_size)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.monotonic()
    try:
        rows = read_csv(args.from_csv) if args.from_csv is not None else _simulate(args)
    except (MLError, OSError) as exc:
        print(f"ml.simulate: {exc}", file=sys.stderr)
        return 2
    if not rows:
        print("ml.simulate: no rows", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    metric = METRIC[str(rows[0]["task"])] if "task" in rows[0] else METRIC[args.task]
    if args.from_csv is None:
        write_csv(rows, args.out / "simulation.csv")
    plot_learning_curves(
        rows, metric=metric, path=args.out / "learning_curve.png", target_fraction=args.target_fraction
    )
    summary = summarise(rows, metric=metric, target_fraction=args.target_fraction)
    write_summary(summary, args.out / "summary.json")
    write_summary(summary, args.out / "summary.txt")
    print(summary.text() if summary else "no random baseline: no summary")
    print(f"wrote {args.out}: learning_curve.png, summary.json/.txt in {time.monotonic() - started:.0f} s")
    return 0


def _simulate(args: argparse.Namespace) -> list[dict[str, object]]:
    strategies = tuple(s.strip() for item in (args.strategy or ["random,entropy"]) for s in item.split(","))
    config = SimConfig(
        task=args.task,
        strategies=strategies,
        seeds=args.seeds,
        initial=args.initial,
        batch=args.batch,
        rounds=args.rounds,
        width=args.width,
        depth=args.depth,
        steps=args.steps,
        lr=args.lr,
        mc_samples=args.mc_samples,
        dropout_kind=args.dropout_kind,
        aggregation=args.aggregation,
        ranked_candidates=args.ranked_candidates,
        pool_sample=args.pool_sample,
        initial_selection=args.initial_selection,
        workers=args.workers,
        threads=args.threads,
    )
    config.check()
    data = load_data(args)
    if args.binary and data.task == "cloud":
        data = binary_cloud(data)
    pool, test = split(data, test_fraction=args.test_fraction, seed=args.data_seed)
    return simulate(data, pool, test, config=config)
