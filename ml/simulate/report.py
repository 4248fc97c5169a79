"""Simulator outputs: the CSV of every evaluated round, the learning-curve PNG, and the summary
(labels needed to reach a share of random's best mean score, area under the learning curve and
final score, mean +- std over seeds)."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

Row = dict[str, object]


def write_csv(rows: Sequence[Row], path: str | Path) -> None:
    """One line per (strategy, seed, round); columns in first-seen order."""
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def read_csv(path: str | Path) -> list[Row]:
    """Rows back from :func:`write_csv`, numbers as floats (``seed``, ``round``, ``n_labelled`` as ints)."""
    rows: list[Row] = []
    with open(path, newline="") as handle:
        for raw in csv.DictReader(handle):
            row: Row = {}
            for key, value in raw.items():
                if key in ("seed", "round", "n_labelled"):
                    row[key] = int(value)
                else:
                    try:
                        row[key] = float(value)
                    except (TypeError, ValueError):
                        row[key] = value
            rows.append(row)
    return rows


@dataclass(frozen=True)
class Curve:
    """Mean learning curve of one strategy over seeds: per round, labelled chips and metric stats."""

    strategy: str
    n_labelled: np.ndarray
    mean: np.ndarray
    low: np.ndarray  # min over seeds
    high: np.ndarray  # max over seeds
    std: np.ndarray
    seeds: int


def curves(rows: Sequence[Row], *, metric: str) -> list[Curve]:
    """One :class:`Curve` per strategy, in first-seen order; rounds missing for some seed are averaged
    over the seeds that have them. NaN metric values are left out of the statistics."""
    out = []
    for strategy in dict.fromkeys(str(r["strategy"]) for r in rows):
        mine = [r for r in rows if r["strategy"] == strategy]
        rounds = sorted({int(r["round"]) for r in mine})  # type: ignore[call-overload]
        n, mean, low, high, std = [], [], [], [], []
        for rnd in rounds:
            at = [r for r in mine if r["round"] == rnd]
            values = np.array([float(r[metric]) for r in at], dtype=np.float64)  # type: ignore[arg-type]
            values = values[np.isfinite(values)]
            n.append(float(np.mean([float(r["n_labelled"]) for r in at])))  # type: ignore[arg-type]
            stats = (
                (values.mean(), values.min(), values.max(), values.std()) if values.size else (math.nan,) * 4
            )
            for target, value in zip((mean, low, high, std), stats, strict=True):
                target.append(value)
        out.append(
            Curve(
                strategy=strategy,
                n_labelled=np.array(n),
                mean=np.array(mean),
                low=np.array(low),
                high=np.array(high),
                std=np.array(std),
                seeds=len({r["seed"] for r in mine}),
            )
        )
    return out


def labels_to_reach(n_labelled: np.ndarray, values: np.ndarray, target: float) -> float | None:
    """Labelled chips at which the curve first reaches ``target``, linearly interpolated between
    rounds; None if it never does."""
    for i, value in enumerate(values):
        if np.isfinite(value) and value >= target:
            if i == 0 or not np.isfinite(values[i - 1]):
                return float(n_labelled[i])
            x0, x1, y0, y1 = n_labelled[i - 1], n_labelled[i], values[i - 1], value
            return float(x0 + (target - y0) / (y1 - y0) * (x1 - x0)) if y1 > y0 else float(x1)
    return None


TARGET_FRACTION = 0.95


def area_under_curve(n_labelled: np.ndarray, values: np.ndarray) -> float:
    """Normalised area under a learning curve: the trapezoid area over labelled chips divided by the
    span of labelled chips, i.e. the curve's mean height (a single point gives its value). NaN
    points are left out; NaN if none is left."""
    x, y = np.asarray(n_labelled, dtype=np.float64), np.asarray(values, dtype=np.float64)
    keep = np.isfinite(y)
    x, y = x[keep], y[keep]
    if not len(y):
        return math.nan
    if len(y) == 1 or x[-1] == x[0]:
        return float(y.mean())
    return float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)) / (x[-1] - x[0]))


@dataclass(frozen=True)
class StrategySummary:
    """One strategy against random: labels to reach the target, area under the curve, final score.

    ``*_mean`` / ``*_std`` are over seeds (population std); ``labels_to_target`` is read off the mean
    curve, ``labels_per_seed`` off each seed's own curve (None: that seed never reached it).
    """

    strategy: str
    seeds: int
    final_n: float
    final_mean: float
    final_std: float
    best_mean: float  # the highest point of the mean curve
    aulc_mean: float  # normalised area under each seed's curve, averaged
    aulc_std: float
    labels_to_target: float | None
    fraction_of_random: float | None  # labels_to_target / random's labels_to_target
    labels_per_seed: list[float | None]

    @property
    def seeds_reaching(self) -> int:
        return sum(v is not None for v in self.labels_per_seed)


@dataclass(frozen=True)
class Summary:
    """The target is ``target_fraction`` x random's best mean score (its mean curve's highest point):
    robust to a last round that dips, unlike random's final score."""

    metric: str
    target_fraction: float
    target: float
    random_best: float
    random_best_n: float
    strategies: list[StrategySummary]

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        for item, strategy in zip(data["strategies"], self.strategies, strict=True):
            item["seeds_reaching"] = strategy.seeds_reaching
        return data

    def text(self) -> str:
        m = self.metric
        lines = [
            f"target: {self.target_fraction:.0%} of random's best mean {m} ({self.random_best:.4f} at "
            f"{self.random_best_n:g} chips) = {self.target:.4f}; +- is the std over seeds",
            f"{'strategy':>14}  {'labels to target':>17}  {'per seed':>11}  {'seeds':>5}  {'AULC ' + m:>15}  "
            f"{'best mean':>9}  final {m}",
        ]
        for s in self.strategies:
            lines.append(
                f"{s.strategy:>14}  {_reach(s.labels_to_target, s.fraction_of_random):>17}  "
                f"{_spread(s.labels_per_seed):>11}  {s.seeds_reaching:>2}/{s.seeds:<2}  {s.aulc_mean:>7.4f} +- {s.aulc_std:.4f}  "
                f"{s.best_mean:>9.4f}  {s.final_mean:.4f} +- {s.final_std:.4f} at {s.final_n:g}"
            )
        return "\n".join(lines)


def _reach(labels: float | None, fraction: float | None) -> str:
    if labels is None:
        return "not reached"
    return f"{labels:.1f}" if fraction is None else f"{labels:.1f} ({fraction:.2f}x)"


def _spread(labels: Sequence[float | None]) -> str:
    """Min-max of the seeds that reached the target, e.g. ``11.2-16.0``."""
    reached = [v for v in labels if v is not None]
    return f"{min(reached):.1f}-{max(reached):.1f}" if reached else "-"


def _seed_curves(rows: Sequence[Row], strategy: str, metric: str) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    mine = [r for r in rows if r["strategy"] == strategy]
    for seed in dict.fromkeys(r["seed"] for r in mine):
        at = sorted((r for r in mine if r["seed"] == seed), key=lambda r: int(r["round"]))  # type: ignore[call-overload]
        n = np.array([float(r["n_labelled"]) for r in at])  # type: ignore[arg-type]
        values = np.array([float(r[metric]) for r in at])  # type: ignore[arg-type]
        out.append((n, values))
    return out


def summarise(
    rows: Sequence[Row], *, metric: str, baseline: str = "random", target_fraction: float = TARGET_FRACTION
) -> Summary | None:
    """Per strategy: labels to reach ``target_fraction`` x the ``baseline``'s best mean score
    (interpolated between rounds), area under the learning curve and final score, mean +- std over
    seeds; None without a baseline."""
    all_curves = curves(rows, metric=metric)
    base = next((c for c in all_curves if c.strategy == baseline), None)
    if base is None or not len(base.mean) or not np.isfinite(base.mean).any():
        return None
    best_at = int(np.nanargmax(base.mean))
    best, best_n = float(base.mean[best_at]), float(base.n_labelled[best_at])
    target = target_fraction * best
    base_labels = labels_to_reach(base.n_labelled, base.mean, target)
    items = []
    for c in all_curves:
        per_seed = _seed_curves(rows, c.strategy, metric)
        aulc = np.array([area_under_curve(n, v) for n, v in per_seed])
        finals = np.array([v[-1] for _, v in per_seed if len(v) == len(c.mean)])
        finals = finals[np.isfinite(finals)]
        needed = labels_to_reach(c.n_labelled, c.mean, target)
        items.append(
            StrategySummary(
                strategy=c.strategy,
                seeds=c.seeds,
                final_n=float(c.n_labelled[-1]),
                final_mean=float(c.mean[-1]),
                final_std=float(finals.std()) if finals.size else math.nan,
                best_mean=float(np.nanmax(c.mean)),
                aulc_mean=float(np.nanmean(aulc)),
                aulc_std=float(np.nanstd(aulc)),
                labels_to_target=needed,
                fraction_of_random=None if needed is None or not base_labels else needed / base_labels,
                labels_per_seed=[labels_to_reach(n, v, target) for n, v in per_seed],
            )
        )
    return Summary(
        metric=metric,
        target_fraction=target_fraction,
        target=target,
        random_best=best,
        random_best_n=best_n,
        strategies=items,
    )


def plot_learning_curves(
    rows: Sequence[Row],
    *,
    metric: str,
    path: str | Path,
    title: str | None = None,
    spread: str = "minmax",
    target_fraction: float = TARGET_FRACTION,
) -> None:
    """PNG: mean ``metric`` vs labelled chips, one line per strategy, shaded min-max (or +- std)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    try:
        all_curves = curves(rows, metric=metric)
        for c in all_curves:
            (line,) = ax.plot(c.n_labelled, c.mean, marker="o", markersize=3, label=f"{c.strategy}")
            low, high = (c.low, c.high) if spread == "minmax" else (c.mean - c.std, c.mean + c.std)
            ax.fill_between(c.n_labelled, low, high, color=line.get_color(), alpha=0.15, linewidth=0)
        summary = summarise(rows, metric=metric, target_fraction=target_fraction)
        if summary is not None and math.isfinite(summary.target):
            label = f"{summary.target_fraction:.0%} of random's best"
            ax.axhline(summary.target, color="0.4", linestyle="--", linewidth=0.8, label=label)
        seeds = max((c.seeds for c in all_curves), default=0)
        band = "min-max" if spread == "minmax" else "+- 1 std"
        ax.set_title(title or f"{metric} vs labelled chips (mean of {seeds} seeds, band {band})", fontsize=10)
        ax.set_xlabel("labelled chips")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)


def write_summary(summary: Summary | None, path: str | Path) -> None:
    """JSON (``.json``) or text (any other suffix) summary; a note when there is no random baseline."""
    path = Path(path)
    if summary is None:
        path.write_text(
            json.dumps({"note": "no random baseline"}) if path.suffix == ".json" else "no random baseline\n"
        )
        return
    path.write_text(
        json.dumps(summary.to_dict(), indent=2) if path.suffix == ".json" else summary.text() + "\n"
    )
