"""Simulator outputs: the CSV of every evaluated round, the learning-curve PNG, and the summary
"labels needed to reach random's final score"."""

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


@dataclass(frozen=True)
class StrategySummary:
    """How one strategy compares with random: labels to reach random's final and best mean scores."""

    strategy: str
    final_n: float
    final_mean: float
    mean_over_rounds: float  # mean of the mean curve over rounds: a normalised area under it
    labels_needed: float | None  # to reach random's final mean; None = not reached
    fraction_of_random: float | None  # labels_needed / random's final labelled count
    labels_to_best: float | None  # to reach random's best mean (any round); None = not reached
    fraction_of_random_best: float | None  # labels_to_best / labelled count where random is best


@dataclass(frozen=True)
class Summary:
    metric: str
    target: float  # random's mean metric at its last round
    random_final_n: float
    random_best: float  # random's highest mean metric over rounds
    random_best_n: float
    strategies: list[StrategySummary]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def text(self) -> str:
        m = self.metric
        lines = [
            f"target: random's final {m} = {self.target:.4f} at {self.random_final_n:g} labelled chips "
            f"(best: {self.random_best:.4f} at {self.random_best_n:g})",
            f"{'strategy':>16}  {'to random final':>17}  {'to random best':>17}  {'mean ' + m:>9}  final {m}",
        ]
        for s in self.strategies:
            lines.append(
                f"{s.strategy:>16}  {_reach(s.labels_needed, s.fraction_of_random):>17}  "
                f"{_reach(s.labels_to_best, s.fraction_of_random_best):>17}  {s.mean_over_rounds:>9.4f}  "
                f"{s.final_mean:.4f} at {s.final_n:g}"
            )
        return "\n".join(lines)


def _reach(labels: float | None, fraction: float | None) -> str:
    return "not reached" if labels is None or fraction is None else f"{labels:.1f} ({fraction:.2f}x)"


def summarise(rows: Sequence[Row], *, metric: str, baseline: str = "random") -> Summary | None:
    """Labels each strategy needs to reach the ``baseline``'s final (and best) mean metric, interpolated
    between rounds; None without a baseline."""
    all_curves = curves(rows, metric=metric)
    base = next((c for c in all_curves if c.strategy == baseline), None)
    if base is None or not len(base.mean) or not np.isfinite(base.mean).any():
        return None
    target, base_n = float(base.mean[-1]), float(base.n_labelled[-1])
    best_at = int(np.nanargmax(base.mean))
    best, best_n = float(base.mean[best_at]), float(base.n_labelled[best_at])
    items = []
    for c in all_curves:
        needed = labels_to_reach(c.n_labelled, c.mean, target) if math.isfinite(target) else None
        to_best = labels_to_reach(c.n_labelled, c.mean, best)
        items.append(
            StrategySummary(
                strategy=c.strategy,
                final_n=float(c.n_labelled[-1]),
                final_mean=float(c.mean[-1]),
                mean_over_rounds=float(np.nanmean(c.mean)),
                labels_needed=needed,
                fraction_of_random=None if needed is None else needed / base_n,
                labels_to_best=to_best,
                fraction_of_random_best=None if to_best is None else to_best / best_n,
            )
        )
    return Summary(
        metric=metric,
        target=target,
        random_final_n=base_n,
        random_best=best,
        random_best_n=best_n,
        strategies=items,
    )


def plot_learning_curves(
    rows: Sequence[Row], *, metric: str, path: str | Path, title: str | None = None, spread: str = "minmax"
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
        summary = summarise(rows, metric=metric)
        if summary is not None and math.isfinite(summary.target):
            ax.axhline(summary.target, color="0.4", linestyle="--", linewidth=0.8, label="random's final")
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
