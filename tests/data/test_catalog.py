"""The bundled datasets and their groups (benchmark/data/catalog.py)."""

from __future__ import annotations

import hashlib
import tomllib

import numpy as np
import pandas as pd
import pytest

from benchmark.data import catalog
from benchmark.errors import BenchmarkError

BUNDLED = [name for name, info in catalog.available().items() if info.kind == "bundled"]


def _provenance(name: str) -> dict:
    return tomllib.loads((catalog.DATASETS_DIR / f"{name}.toml").read_text())


def test_the_price_panel_has_at_least_five_real_series():
    assert catalog.groups()["prices"] == ["msft", "nasdaq", "sp500", "vix", "wti"]
    assert catalog.expand(["prices"]) == ["msft", "nasdaq", "sp500", "vix", "wti"]
    assert catalog.expand(["msft", "prices", "wti"]) == ["msft", "nasdaq", "sp500", "vix", "wti"]
    assert catalog.expand(["all"])[:5] == ["msft", "nasdaq", "sp500", "vix", "wti"]


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_series_loads_verifies_and_is_a_clean_business_day_series(name):
    meta = _provenance(name)
    path = catalog.DATASETS_DIR / meta["file"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == meta["sha256"]
    for key in ("source", "source_licence", "columns", "target", "start", "end", "rows", "description"):
        assert meta[key], key
    series = catalog.load(name)
    dates = series.dates
    assert len(series) == meta["rows"]
    assert dates[0].date().isoformat() == meta["start"] and dates[-1].date().isoformat() == meta["end"]
    assert dates.is_monotonic_increasing and dates.is_unique  # strictly increasing
    assert (dates.day_of_week < 5).all()  # business days only
    assert (dates == dates.normalize()).all()
    assert np.all(np.isfinite(series.values)) and np.all(series.values > 0)  # nothing missing after the treatment
    # the file itself has exactly the documented columns and no empty cell
    frame = pd.read_csv(path)
    assert list(frame.columns) == meta["columns"]
    assert not frame.isna().any().any()


def test_a_changed_file_is_refused_by_its_checksum(tmp_path, monkeypatch):
    for suffix in ("csv", "toml"):
        (tmp_path / f"vix.{suffix}").write_bytes((catalog.DATASETS_DIR / f"vix.{suffix}").read_bytes())
    with (tmp_path / "vix.csv").open("a") as f:
        f.write("2019-01-04,20.0\n")
    monkeypatch.setattr(catalog, "DATASETS_DIR", tmp_path)
    with pytest.raises(BenchmarkError, match="checksum"):
        catalog.load("vix")


def test_an_unknown_name_lists_datasets_and_groups():
    with pytest.raises(BenchmarkError, match="unknown dataset 'nope'.*prices"):
        catalog.load("nope")


def test_a_group_named_like_a_dataset_is_refused(tmp_path, monkeypatch):
    text = (catalog.DATASETS_DIR / "vix.toml").read_text().replace('groups = ["prices"]', 'groups = ["wti"]')
    (tmp_path / "vix.toml").write_text(text)
    for name in ("vix.csv", "wti.csv", "wti.toml"):
        (tmp_path / name).write_bytes((catalog.DATASETS_DIR / name).read_bytes())
    monkeypatch.setattr(catalog, "DATASETS_DIR", tmp_path)
    with pytest.raises(BenchmarkError, match="group 'wti' is also the name of a dataset"):
        catalog.groups()
