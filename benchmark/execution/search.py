"""`--search optuna`: sample the `--set` space per architecture on validation MAE instead of running all of it.

Each sampled point is trained under the first seed as a `stage = "search"` configuration (its own config hash,
logged to MLflow like any run, scored on validation only: test predictions are neither scored nor logged). The
best point per architecture then becomes a final configuration, trained under every seed and evaluated on the
test period once, like a grid point.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from benchmark import tracking
from benchmark.config import sweep
from benchmark.config.experiment import ExperimentConfig
from benchmark.errors import BenchmarkError
from benchmark.execution import runner
from benchmark.models import registry
from benchmark.tracking import FINISHED, Tracker


def _keys_for(model: str, grid: dict[str, list]) -> dict[str, list]:
    """The part of the space that concerns one architecture (settings, its own and bare hyper-parameters)."""
    own = sweep.hyperparameters(model)
    out = {}
    for key, values in grid.items():
        target, dot, name = key.rpartition(".")
        if sweep.setting_name(key) or (not dot and key in own) or target == model:
            out[key] = values
    return out


def _point(base: ExperimentConfig, model: str, point: dict, models: tuple[str, ...], seeds: tuple[int, ...],
           stage: str, search_id: str) -> ExperimentConfig:
    (config,) = sweep.expand(dataclasses.replace(base, models=models, seeds=seeds),
                             {k: [v] for k, v in point.items()})
    return dataclasses.replace(config, stage=stage, sweep_id=search_id)


def _val_mae(config: ExperimentConfig, model: str, seed: int) -> float:
    """The finished search trial's validation MAE, from the tracking store (so resumed trials count too); a failed
    trial scores infinity."""
    tracker = Tracker(config.tracking_uri)
    experiment = tracker.find_experiment(config.experiment or tracking.experiment_name(config.dataset_name))
    for run in tracker.trials(experiment, config.config_hash, FINISHED):
        if run.model == model and run.seed == str(seed):
            return float(run.metrics["val_mae"])
    return float("inf")  # the trial failed (recorded in MLflow with its reason): never the best


def optuna_search(base: ExperimentConfig, grid: dict[str, list], command: str) -> list[ExperimentConfig]:
    """The final configuration per architecture: the best of `base.trials` sampled points on validation MAE."""
    try:
        import optuna
    except ImportError:
        raise BenchmarkError("--search optuna needs optuna: pip install -e '.[search]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    search_id = hashlib.sha256(json.dumps([base.config_hash, base.dataset_name, sorted(grid.items()), "optuna"],
                                          default=str).encode()).hexdigest()[:12]
    baselines = tuple(m for m in base.models if not registry.get(m).stochastic)
    finals = []
    for model in (m for m in base.models if registry.get(m).stochastic):
        space = _keys_for(model, grid)
        seed = base.seeds[0]

        def objective(trial, model=model, space=space, seed=seed) -> float:
            point = {key: trial.suggest_categorical(key, values) for key, values in space.items()}
            config = _point(base, model, point, (model,), (seed,), "search", search_id)
            runner.run(runner.check_inputs(config), command=command)
            return _val_mae(config, model, seed)

        study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed),
                                    study_name=f"{base.dataset_name}/{model}")
        study.optimize(objective, n_trials=base.trials)
        finals.append(_point(base, model, study.best_params, (model, *baselines), base.seeds, "final",
                             f"{search_id}-final"))
    return finals
