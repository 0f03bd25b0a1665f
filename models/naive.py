"""Naive persistence: tomorrow equals today. The reference every model must beat."""

SEEDED = False
DEFAULTS = {}


def build(input_shape, horizon):
    from benchmark.baselines import Persistence

    return Persistence(horizon)
