"""The `--covariates` vocabulary: which extra input columns a series carries, and how each is prepared.

A covariate is a past-only input: a window ending at a forecast origin sees its values up to the day before the
origin, never the target day's high, low or volume (`benchmark.pipeline.windows` cuts every channel over the same
input days). Words:

- a column name of the file (exact, else a unique case-insensitive match);
- `ohlcv`: every one of open, high, low and volume the file has, besides its target;
- `log_return`: the target's daily log return, log(y_t / y_{t-1}) (0 on the first day; needs a positive target);
- `range`: the intraday range relative to the close, (high_t − low_t) / y_t (needs high and low columns).

A column named volume is taken on a log scale, log(1 + volume), before it is scaled like the target (volumes span
orders of magnitude). Every channel is then scaled by its own scaler of the run's kind (`--scaler`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

OHLCV = ("open", "high", "low", "volume")
DERIVED = ("log_return", "range")


def expand(requested: Sequence[str], header: Sequence[str], taken: Sequence[int]) -> list[str]:
    """The requested words with `ohlcv` replaced by the file's open/high/low/volume columns (none of them the
    target or the date); each name once, in the order asked for."""
    out: list[str] = []
    for word in requested:
        if word.strip().lower() == "ohlcv":
            found = [name.strip() for i, name in enumerate(header)
                     if name.strip().lower() in OHLCV and i not in taken]
            if not found:
                raise ValueError("ohlcv: the file has none of the columns open, high, low, volume besides its "
                                 "target")
            out += found
        else:
            out.append(word)
    return list(dict.fromkeys(out))


def needed(requested: Sequence[str]) -> list[str]:
    """The file columns the requested words read: themselves, and high and low for `range`."""
    out = []
    for word in requested:
        if word in DERIVED:
            out += ["high", "low"] if word == "range" else []
        else:
            out.append(word)
    return list(dict.fromkeys(out))


def prepare(requested: Sequence[str], read: Mapping[str, np.ndarray], target: np.ndarray,
            lookup: Callable[[str], str]) -> dict[str, np.ndarray]:
    """The channels in the order asked for: file columns as read (volume on a log scale), derived ones computed.
    `lookup` maps a requested column word to the file's own name for it."""
    out = {}
    for word in requested:
        if word == "log_return":
            if np.any(target <= 0):
                raise ValueError("log_return needs a target above zero on every day")
            out["log_return"] = np.concatenate([[0.0], np.diff(np.log(target))])
        elif word == "range":
            high, low = read[lookup("high")], read[lookup("low")]
            if np.any(target == 0):
                raise ValueError("range needs a target other than zero on every day")
            out["range"] = (high - low) / target
        else:
            name = lookup(word)
            values = read[name]
            if name.strip().lower() == "volume":
                if np.any(values < 0):
                    raise ValueError(f"column {name!r} has a negative volume")
                values = np.log1p(values)
            out[name] = values
    return out
