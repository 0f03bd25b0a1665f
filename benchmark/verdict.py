"""The comparison in words: who beat the reference, and which neighbouring ranks are only seed noise.

Text from the typed table of `benchmark.comparison`; no numbers are computed here.
"""

from __future__ import annotations

import pandas as pd


def verdict(table: pd.DataFrame) -> str:
    """The conclusion in plain words: who beat persistence at the 5% level, and what is only seed noise."""
    seeds = table[table["row"] == "seeds"]
    naive = table[table["reference"]].iloc[0]
    winners = seeds[seeds["beats_naive"]]
    if winners.empty:
        best = seeds.iloc[0] if len(seeds) else None
        text = "No neural model beat naive persistence at the 5% level (Diebold–Mariano, squared loss)."
        if best is not None:
            text += (f" The best neural model, {best['model']}, has mean MAE {best['mae_mean']:.4g} against "
                     f"persistence's {naive['mae_mean']:.4g} (median DM p over seeds = {best['dm_p_squared']:.3g}).")
        ensembles = table[(table["row"] == "ensemble") & table["beats_naive"]]
        if len(ensembles):
            names = ", ".join(f"{r['model']} (MAE {r['mae_mean']:.4g}, p = {r['dm_p_squared']:.2g})"
                              for _, r in ensembles.iterrows())
            text += (f" Averaging the seeds' forecasts does beat it: {names}; a single trained network does not "
                     "reliably.")
        return text
    parts = [f"{r['model']} (MAE {r['mae_mean']:.4g} vs {naive['mae_mean']:.4g}, median p = {r['dm_p_squared']:.3g}, "
             f"significant in {int(r['seeds_significant'])}/{int(r['seeds'])} seeds)" for _, r in winners.iterrows()]
    text = "Beat naive persistence at the 5% level (Diebold–Mariano, squared loss): " + "; ".join(parts) + "."
    losers = sorted(set(seeds["model"]) - set(winners["model"]))
    if losers:
        text += f" Not significantly better than persistence: {', '.join(losers)}."
    return text


def noise_note(table: pd.DataFrame) -> str:
    """Which neighbouring ranks are within seed noise, so nobody reads a ranking into it."""
    pairs = [f"{table.iloc[i - 1]['model']} ≈ {table.iloc[i]['model']}"
             for i in range(1, len(table)) if table.iloc[i]["within_noise_of_previous"]]
    if not pairs:
        return "No neighbouring pair is within seed noise."
    return "Within seed noise of the row above (95% seed intervals overlap): " + "; ".join(pairs) + "."
