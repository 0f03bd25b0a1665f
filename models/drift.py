"""Drift: the last value plus the window's mean daily change."""

SEEDED = False
DEFAULTS = {}


def build(input_shape, horizon):
    from benchmark.baselines import Drift

    return Drift(horizon)
