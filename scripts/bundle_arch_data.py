"""Makes datasets/{sp500,nasdaq,wti,vix}.csv and their provenance files from the `arch` 8.0.0 wheel.

Run once, offline, after `pip download arch==8.0.0 --no-deps -d WHEELDIR`:

    python scripts/bundle_arch_data.py WHEELDIR/arch-8.0.0-*.whl

The only changes to the wheel's files: dates become ISO (the wheel writes M/D/YYYY), and rows that quote no value
(FRED writes '.' on exchange holidays) are removed, so every row is a trading day with a price. `arch` is never a
run-time dependency.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import pandas as pd

DATASETS = Path(__file__).resolve().parent.parent / "datasets"
YAHOO = ("Yahoo Finance daily history, as redistributed in the arch 8.0.0 wheel on PyPI (arch/data/{name}/"
         "{name}.csv.gz; used in arch's examples)")
SERIES = {
    "sp500": dict(description="S&P 500 index, daily OHLC, adjusted close and volume, one row per trading day",
                  source=YAHOO, target="Close", original="Yahoo Finance (^GSPC)"),
    "nasdaq": dict(description="NASDAQ Composite index, daily OHLC, adjusted close and volume, one row per "
                   "trading day", source=YAHOO, target="Close", original="Yahoo Finance (^IXIC)"),
    "wti": dict(description="West Texas Intermediate crude oil spot price, Cushing OK, US dollars per barrel, "
                "one row per trading day", source="FRED series DCOILWTICO (U.S. Energy Information "
                "Administration), as redistributed in the arch 8.0.0 wheel on PyPI (arch/data/wti/wti.csv.gz)",
                target="DCOILWTICO", original="FRED DCOILWTICO (EIA; public domain)"),
    "vix": dict(description="CBOE Volatility Index (VIX), daily close, one row per trading day (an index of "
                "implied volatility, not a price: mean-reverting, unlike the other series)",
                source="FRED series VIXCLS (Chicago Board Options Exchange), as redistributed in the arch 8.0.0 "
                "wheel on PyPI (arch/data/vix/vix.csv.gz)", target="vix", original="FRED VIXCLS (CBOE)"),
}
LICENCE = ("arch is NCSA-licensed (University of Illinois/NCSA Open Source License) and redistributes these "
           "series for its examples; the values themselves come from {original}")


def main(wheel: str) -> None:
    with zipfile.ZipFile(wheel) as archive:
        for name, info in SERIES.items():
            member = f"arch/data/{name}/{name}.csv.gz"
            packed = archive.read(member)
            frame = pd.read_csv(io.BytesIO(gzip.decompress(packed)), dtype=str)
            quoted = pd.to_numeric(frame[info["target"]], errors="coerce").notna()
            dropped = int((~quoted).sum())
            frame = frame[quoted].copy()
            frame["Date"] = pd.to_datetime(frame["Date"], format="%m/%d/%Y").dt.strftime("%Y-%m-%d")
            path = DATASETS / f"{name}.csv"
            frame.to_csv(path, index=False, lineterminator="\n")
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            treatment = "dates converted from M/D/YYYY to ISO"
            if dropped:
                treatment += f"; {dropped} rows quoting '.' (no value: exchange holidays) removed, nothing filled"
            columns = ", ".join(f'"{c}"' for c in frame.columns)
            toml = "\n".join([
                f"# Provenance of datasets/{name}.csv: read by `python -m benchmark datasets` and checked on every "
                "load.",
                f'name = "{name}"',
                f'file = "{name}.csv"',
                f'description = "{info["description"]}"',
                f'source = "{info["source"].format(name=name)}"',
                f'source_sha256 = "{hashlib.sha256(packed).hexdigest()}"  # of {member} in the wheel',
                f'source_licence = "{LICENCE.format(original=info["original"])}"',
                f'treatment = "{treatment}"',
                f"columns = [{columns}]",
                f'target = "{info["target"]}"',
                'date_column = "Date"',
                f'start = "{frame["Date"].iloc[0]}"',
                f'end = "{frame["Date"].iloc[-1]}"',
                f"rows = {len(frame)}",
                'groups = ["prices"]',
                f'sha256 = "{digest}"',
                "",
            ])
            (DATASETS / f"{name}.toml").write_text(toml)
            print(f"{name}: {len(frame)} rows, {dropped} removed, sha256 {digest[:12]}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/bundle_arch_data.py PATH/arch-8.0.0-*.whl")
    main(sys.argv[1])
