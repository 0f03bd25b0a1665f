"""Comparative benchmark suite for neural time-series forecasters."""

from pathlib import Path

__version__ = "0.1.0"

# The project folder: bundled data (datasets/), model files (models/) and default outputs live beside the package.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
