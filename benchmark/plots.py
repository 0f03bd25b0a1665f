"""Figures, drawn with seaborn on matplotlib's file-only backend."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402


def trial_forecast_figure(frame: pd.DataFrame, title: str):
    """One trial's one-step forecast against the actual test prices."""
    first = frame[frame["step"] == 1]
    dates = pd.to_datetime(first["date"])
    long = pd.concat([
        pd.DataFrame({"date": dates, "price": first["actual"], "series": "actual"}),
        pd.DataFrame({"date": dates, "price": first["predicted"], "series": "forecast"}),
    ])
    fig, ax = plt.subplots(figsize=(8, 3.5))
    sns.lineplot(long, x="date", y="price", hue="series", ax=ax)
    ax.set(title=f"{title}: test-period forecast", xlabel="date", ylabel="price (original scale)")
    fig.autofmt_xdate()
    fig.tight_layout()
    plt.close(fig)
    return fig
