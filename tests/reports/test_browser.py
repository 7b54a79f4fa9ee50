"""Real Chromium opens the pages from disk: key elements, no errors, no network."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from report_helpers import drift_result, feature_frame, make_history, quarantined_files

from driftloop.config import load_settings
from driftloop.reports import rebuild_index, render_run_report
from driftloop.storage.artifacts import ArtifactStore, Layout
from driftloop.storage.db import Database, upgrade

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser(chromium_launch: dict[str, Any]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(**chromium_launch)
        yield chromium
        chromium.close()


def open_page(browser: Any, path: Path, width: int = 1280) -> tuple[Any, list[str], list[str]]:
    """Open ``path``; returns the page, console errors and non-local requests."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    remote: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "request",
        lambda r: remote.append(r.url) if not r.url.startswith(("file://", "data:")) else None,
    )
    page.goto(path.as_uri(), wait_until="load")
    return page, errors, remote


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Ten days of runs plus one full drifted day (Evidently included), built once."""
    root = tmp_path_factory.mktemp("browser")
    settings = load_settings(environ={}, home=str(root / "var"))
    store = ArtifactStore(settings.artifacts_uri)
    db = Database(settings.db_url)
    upgrade(db)
    make_history(store, db)
    layout = Layout(store)
    production = root / "production"
    production.mkdir()
    render_run_report(
        drift_result(),
        current_df=feature_frame(60, np.random.default_rng(2), shift=1.0, folder=production),
        reference_df=feature_frame(200, np.random.default_rng(1), shift=0.0),
        out_dir=layout.report_dir("2026-11-08"),
        settings=settings,
        quarantined=quarantined_files(root),
        links={
            "airflow_run": "http://127.0.0.1:8080/dags/image_drift_monitor/runs/scheduled__2026-11-08",
            "retraining_run": "http://127.0.0.1:8888/#/runs/details/3f2c",
        },
    )
    rebuild_index(store, db, settings)
    yield Path(layout.reports_root())
    db.dispose()


def test_summary_page_shows_a_drifted_day_at_a_glance(
    browser: Any, reports: Path, test_output: Path
) -> None:
    page, errors, remote = open_page(browser, reports / "2026-11-08" / "index.html")
    assert page.locator("#banner").get_attribute("data-severity") == "high"
    assert "sharpness" in page.locator("#banner .headline").inner_text()
    assert page.locator("#feature-table tbody tr").count() == 11
    assert (
        page.locator("#feature-table tbody tr").first.get_attribute("data-feature") == "sharpness"
    )
    assert page.locator(".card.hist svg").count() == 7
    assert page.locator("#atypical ~ .thumbs img").count() == 12
    assert page.locator("#quarantine-grid .thumb").count() == 2
    assert page.locator("a[data-link=airflow_run]").count() == 1
    assert page.locator("a[data-link=retraining_run]").count() == 1
    assert page.locator("a[data-link=evidently]").count() == 1
    shot = test_output / "report_summary.png"
    page.screenshot(path=str(shot), full_page=True)
    assert errors == [] and remote == []
    page.close()


def test_index_page_lists_runs_and_trends(browser: Any, reports: Path, test_output: Path) -> None:
    page, errors, remote = open_page(browser, reports / "index.html")
    assert page.locator("#runs-table tbody tr").count() == 10
    assert page.locator("#runs-table tbody tr").first.inner_text().startswith("2026-11-10")
    assert page.locator("#trends + .grid svg rect").count() >= 10
    assert page.locator("#feature-trends ~ .grid svg polyline").count() >= 2
    page.locator("#runs-table a", has_text="summary").nth(2).click()
    page.wait_for_load_state()
    assert page.url.endswith("2026-11-08/index.html")
    page.go_back()
    page.screenshot(path=str(test_output / "report_index.png"), full_page=True)
    assert errors == [] and remote == []
    page.close()


def test_evidently_report_opens_offline(browser: Any, reports: Path) -> None:
    page, errors, remote = open_page(browser, reports / "2026-11-08" / "evidently.html")
    page.wait_for_timeout(1500)
    assert "sharpness" in page.content()
    assert remote == []
    assert errors == []
    page.close()
