"""Figures, drawn with seaborn on matplotlib's file-only backend."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from benchmark.analysis.comparison import LOSS_OF_METRIC  # noqa: E402


def trial_forecast_figure(frame: pd.DataFrame, title: str):
    """One trial's one-step forecast against the actual test prices (plain matplotlib: drawn once per trial)."""
    first = frame[frame["step"] == 1]
    dates = pd.to_datetime(first["date"])
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.plot(dates, first["actual"], label="actual", lw=1.2)
    ax.plot(dates, first["predicted"], label="forecast", lw=1.2)
    ax.legend(title="series")
    ax.set(title=f"{title}: test-period forecast", xlabel="date", ylabel="price (original scale)")
    fig.autofmt_xdate()
    fig.tight_layout()
    plt.close(fig)
    return fig


def seed_distribution_figure(results, metric: str = "mae"):
    """Test MAE of every seed per neural model (box + points), baselines as horizontal reference lines."""
    finished = results.finished
    neural = finished[finished["stochastic"]].astype({metric: float})
    fig, ax = plt.subplots(figsize=(8, 4.5))
    order = neural.groupby("model")[metric].mean().sort_values().index.tolist()
    if len(neural):
        sns.boxplot(neural, x="model", y=metric, order=order, color="#dddddd", ax=ax, showfliers=False)
        sns.swarmplot(neural, x="model", y=metric, order=order, hue="seed", ax=ax, size=7)  # deterministic layout
    baselines = finished[~finished["stochastic"]].sort_values("reference", ascending=False, kind="stable")
    colours = ["#c0392b", "#7f8c8d", "#2c3e50", "#8e44ad", "#16a085", "#d35400"]  # the reference first, in red
    for colour, (_, row) in zip(colours * len(baselines), baselines.iterrows(), strict=False):
        ax.axhline(float(row[metric]), ls="--", lw=1.2, color=colour, label=f"{row['model']} (baseline)")
    ax.set(title=f"Test {metric.upper()} across seeds ({results.meta.dataset})", xlabel="model",
           ylabel=f"test {metric.upper()} (price units)")
    ax.legend(title="seed / baseline", fontsize=8, loc="best")
    fig.tight_layout()
    plt.close(fig)
    return fig


def forecast_figure(results, table, zoom: int = 30):
    """Actual test prices with the best seed's one-step forecast of each model and naive persistence.

    Top: the whole test period; bottom: its last `zoom` points, where the lines can be told apart.
    """
    finished = results.finished
    preds = results.predictions[results.predictions["step"] == 1]
    metric = results.meta.metric
    best = finished.astype({metric: float}).sort_values(metric).drop_duplicates("model")
    reference = results.meta.reference
    actual = preds[preds["model"] == reference]
    frames = [pd.DataFrame({"date": pd.to_datetime(actual["date"]), "price": actual["actual"],
                            "series": "actual"})]
    for _, row in best.iterrows():
        if row["stochastic"] or row["model"] == reference:
            p = preds[(preds["model"] == row["model"]) & (preds["seed"] == row["seed"])]
            label = row["model"] if row["model"] == reference else f"{row['model']} (seed {row['seed']})"
            frames.append(pd.DataFrame({"date": pd.to_datetime(p["date"]), "price": p["predicted"], "series": label}))
    long = pd.concat(frames, ignore_index=True)
    fig, (full, last) = plt.subplots(2, 1, figsize=(10, 7.5))
    sns.lineplot(long, x="date", y="price", hue="series", ax=full, lw=1.0)
    dates = sorted(long["date"].unique())
    zoom = min(zoom, len(dates))  # a test period shorter than the zoom is shown whole
    recent = long[long["date"] >= dates[-zoom]]
    sns.lineplot(recent, x="date", y="price", hue="series", style="series", markers=True, dashes=False, ax=last,
                 lw=1.0, legend=False)
    dataset = results.meta.dataset
    full.set(title=f"Test period: actual vs one-step forecasts, best seed per model ({dataset})",
             xlabel="date", ylabel="price (original scale)")
    last.set(title=f"Last {zoom} test points", xlabel="date", ylabel="price (original scale)")
    full.legend(title="series", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    plt.close(fig)
    return fig


def loss_curves_figure(results):
    """Training and validation loss per epoch, one panel per neural model, one line per seed."""
    h = results.histories
    if h.empty:
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.set(title="Loss curves (no neural trials)", xlabel="epoch", ylabel="loss (scaled units)")
        plt.close(fig)
        return fig
    h = h.assign(split=h["metric"].map({"loss": "train", "val_loss": "validation"}))
    grid = sns.relplot(h, x="epoch", y="value", hue="split", units="seed", estimator=None, col="model",
                       col_wrap=min(4, h["model"].nunique()), kind="line", height=3, aspect=1.1, alpha=0.7,
                       marker="o" if h["epoch"].max() == 1 else None,
                       facet_kws={"sharey": False})
    grid.set_axis_labels("epoch", f"loss ({results.meta.get('loss', 'mse')}, scaled units)")
    grid.set_titles("{col_name}")
    grid.figure.suptitle("Training and validation loss per epoch (one line per seed)", y=1.03)
    plt.close(grid.figure)
    return grid.figure


def pvalue_heatmap_figure(pvalues: pd.DataFrame, loss: str = "absolute"):
    """Pairwise two-sided Diebold–Mariano p-values (Holm-adjusted); dark cells are significant differences."""
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * len(pvalues), 0.8 + 0.7 * len(pvalues)))
    sns.heatmap(pvalues.astype(float), annot=True, fmt=".2f", vmin=0, vmax=1, cmap="mako", ax=ax,
                cbar_kws={"label": f"Holm-adjusted p (two-sided DM, {loss} error)"})
    ax.set(title="Pairwise Diebold–Mariano p-values", xlabel="model", ylabel="model")
    fig.tight_layout()
    plt.close(fig)
    return fig


def sweep_figure(points: pd.DataFrame):
    """Validation and test MAE of every grid point, per architecture (lines join the points in grid order)."""
    long = pd.concat([points.assign(split="validation", value=points["val_mae"]),
                      points.assign(split="test", value=points["test_mae"])], ignore_index=True)
    grid = sns.catplot(long, x="point", y="value", hue="split", col="model", kind="point", height=3.2, aspect=1.3,
                       sharey=False, col_wrap=min(4, points["model"].nunique()))
    grid.set_axis_labels("configuration", "MAE (price units, mean over seeds)")
    grid.set_titles("{col_name}")
    for ax in grid.axes.flat:
        ax.tick_params(axis="x", rotation=30)
    grid.figure.suptitle("Sweep: validation (used to choose) and test MAE per configuration", y=1.03)
    plt.close(grid.figure)
    return grid.figure


def critical_difference_figure(result, blocks: str):
    """Demšar's critical-difference diagram: mean ranks on one axis; models joined by a bar are within Nemenyi's
    critical difference of each other (not significantly different)."""
    ranks = sorted(result.mean_ranks.items(), key=lambda kv: kv[1])
    k, cd = result.k, result.critical_difference
    fig, ax = plt.subplots(figsize=(8, 1.6 + 0.4 * k))
    top = k + 1
    ax.hlines(top, 1, k, color="black", lw=1)
    for i, (model, rank) in enumerate(ranks):
        y = k - i
        ax.plot([rank, rank], [top, y], color="#555555", lw=0.8)
        ax.plot(rank, top, "o", color="black", ms=4)
        ax.text(rank + 0.04, y, f"{model} ({rank:.2f})", va="center", fontsize=9)
    ax.plot([1, 1 + cd], [top + 0.7] * 2, color="#c0392b", lw=2.5)
    ax.text(1 + cd / 2, top + 0.95, f"CD = {cd:.2f}", ha="center", fontsize=9, color="#c0392b")
    level, covered = 0, -1
    for i in range(k):
        j = max(j for j in range(i, k) if ranks[j][1] - ranks[i][1] < cd)
        if j > i and j > covered:  # a maximal group of models not significantly different
            y = top - 0.25 - 0.2 * level
            ax.plot([ranks[i][1] - 0.03, ranks[j][1] + 0.03], [y, y], color="#2c3e50", lw=3)
            level, covered = level + 1, j
    ax.set(xlim=(0.8, k + 0.6), ylim=(0.3, top + 1.4), yticks=[], xlabel="mean rank (1 = best)",
           title=f"Critical-difference diagram over {result.n} {blocks} (Friedman p = {result.pvalue:.2g}, "
                 f"Nemenyi α = {result.alpha:g})")
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    plt.close(fig)
    return fig


def lead_time_figure(lead: pd.DataFrame, metric: str, dataset: str, reference: str = "naive"):
    """Error against lead time, one line per model (seed means; ensembles left out), persistence drawn thick."""
    frame = lead[lead["row"] != "ensemble"]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    sns.lineplot(frame, x="step", y=metric, hue="model", style="row", markers=True, dashes=True, ax=ax)
    ref = frame[frame["model"] == reference]
    ax.plot(ref["step"], ref[metric], color="black", lw=3, alpha=0.35, label=f"{reference} (reference)")
    ax.set(title=f"Test {metric.upper()} by lead time ({dataset})", xlabel="lead time (steps ahead)",
           ylabel=f"test {metric.upper()} (price units)", xticks=sorted(frame["step"].unique()))
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    plt.close(fig)
    return fig


def reliability_figure(reliability: pd.DataFrame, dataset: str):
    """Nominal level against the share of actuals below that quantile, one line per model; the diagonal is a
    calibrated forecast."""
    fig, ax = plt.subplots(figsize=(6, 5.5))
    ax.plot([0, 1], [0, 1], color="black", lw=1, ls=":", label="calibrated")
    sns.lineplot(reliability, x="level", y="observed", hue="model", style="model", markers=True, dashes=False, ax=ax)
    ax.set(title=f"Reliability of the quantile forecasts ({dataset})", xlabel="quantile level (nominal)",
           ylabel="share of test actuals below that quantile", xlim=(0, 1), ylim=(0, 1))
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    plt.close(fig)
    return fig


def fan_chart_figure(forecasts: dict[str, pd.DataFrame], models: list[str], dataset: str, zoom: int = 60):
    """The last `zoom` one-step test forecasts of `models` as fans (each declared central interval a band, the point
    a line) against the actual prices: one panel per model."""
    from benchmark.evaluation.forecasts import quantile_column, quantile_levels
    from benchmark.evaluation.scores import central_intervals

    fig, axes = plt.subplots(len(models), 1, figsize=(10, 3.2 * len(models)), squeeze=False)
    for ax, model in zip(axes[:, 0], models, strict=True):
        frame = forecasts[model]
        frame = frame[frame["step"] == 1].tail(zoom)
        dates = pd.to_datetime(frame["date"])
        intervals = central_intervals(quantile_levels(frame))
        for k, (low, high, nominal) in enumerate(intervals):  # widest first, lightest
            ax.fill_between(dates, frame[quantile_column(low)], frame[quantile_column(high)], color="#2e86c1",
                            alpha=0.15 + 0.5 * k / max(len(intervals), 1), lw=0,
                            label=f"{100 * nominal:.0f}% interval")
        ax.plot(dates, frame["predicted"], color="#1b4f72", lw=1.2, label="forecast")
        ax.plot(dates, frame["actual"], color="black", lw=1.2, marker=".", label="actual")
        ax.set(title=f"{model}: one-step intervals, last {len(frame)} test points ({dataset})", xlabel="date",
               ylabel="price (original scale)")
        ax.legend(fontsize=8, loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    plt.close(fig)
    return fig


def all_figures(results, table, pvalues, lead: pd.DataFrame | None = None) -> dict:
    """name -> (title, figure) for the leaderboard."""
    extra = {}
    if lead is not None:
        extra["lead_time"] = (f"Test {results.meta.metric.upper()} by lead time",
                              lead_time_figure(lead, results.meta.metric, results.meta.dataset,
                                               results.meta.reference))
    return {**extra,
        "seed_distribution": (f"Test {results.meta.metric.upper()} across seeds",
                              seed_distribution_figure(results, results.meta.metric)),
        "forecasts": ("Forecast vs actual, best seed per model", forecast_figure(results, table)),
        "loss_curves": ("Training and validation loss", loss_curves_figure(results)),
        "pvalues": ("Pairwise DM p-values", pvalue_heatmap_figure(pvalues, LOSS_OF_METRIC[results.meta.metric])),
    }
