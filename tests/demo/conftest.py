"""Helpers for the demo data tests (the data set itself is the shared ``demo_tiny`` fixture)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def demo_scenarios(demo_tiny: Path) -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = json.loads((demo_tiny / "scenarios.json").read_text())
    return data


@pytest.fixture(scope="session")
def demo_labels(demo_tiny: Path) -> list[dict[str, str]]:
    with open(demo_tiny / "labels.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="session")
def day_of(demo_scenarios: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Scenario name -> the first date carrying it."""
    out: dict[str, str] = {}
    for date, entry in sorted(demo_scenarios.items()):
        out.setdefault(entry["scenario"], date)
    return out
