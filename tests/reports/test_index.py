"""The index of all runs, retention, the read-only server and the CLI."""

from __future__ import annotations

import datetime as dt
import re
import threading
from pathlib import Path

import httpx
import numpy as np
import pytest
from report_helpers import WEEK, drift_result, feature_frame, make_history
from sqlalchemy import func, select

from driftloop.cli import main
from driftloop.config import Settings
from driftloop.errors import InputError
from driftloop.reports import prune, rebuild_index
from driftloop.reports.serve import make_server
from driftloop.storage.artifacts import ArtifactStore, Layout
from driftloop.storage.db import Database
from driftloop.storage.models import MonitoringRun


def test_index_lists_every_run_newest_first_with_trends(
    store: ArtifactStore, db: Database, settings: Settings
) -> None:
    make_history(store, db)
    html = Path(rebuild_index(store, db, settings)).read_text()
    rows = re.findall(r'<tr class="run" data-severity="(\w+)"', html)
    assert rows == [sev for _, sev, _ in reversed(WEEK)]
    assert 'href="2026-11-10/index.html"' in html
    assert html.count("<title>") >= len(WEEK) + 1  # one tooltip per severity cell
    # The configured trend features, in their configured order.
    assert re.findall(r'<div class="card" data-feature="(\w+)"', html)[:2] == ["mean", "sharpness"]
    assert 'class="banner sev-low"' in html  # the latest run's colour
    assert "<script" not in html


def test_pruned_run_stays_in_the_index_without_links(
    store: ArtifactStore, db: Database, settings: Settings
) -> None:
    make_history(store, db)
    removed = prune(
        store,
        settings.model_copy(
            update={"reports": settings.reports.model_copy(update={"retention_days": 5})}
        ),
        dt.date(2026, 11, 10),
    )
    assert removed == ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]
    html = Path(rebuild_index(store, db, settings)).read_text()
    assert html.count("report pruned") == 4
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(MonitoringRun)) == len(WEEK)


def test_prune_keeps_recent_and_non_date_folders(store: ArtifactStore, settings: Settings) -> None:
    layout = Layout(store)
    for day in ("2026-09-01", "2026-10-20", "2026-11-01"):
        store.write_text(layout.report_dir(day) + "/index.html", "x")
    store.write_text(layout.reports_root() + "/assets/keep.txt", "x")
    assert prune(store, settings, dt.date(2026, 11, 10)) == ["2026-09-01"]
    left = sorted(Path(p).name for p in store.listdir(layout.reports_root()))
    assert left == ["2026-10-20", "2026-11-01", "assets"]


def test_index_without_database_reads_report_folders(
    store: ArtifactStore, settings: Settings
) -> None:
    layout = Layout(store)
    store.write_text(layout.report_dir("2026-11-08") + "/drift.json", drift_result().to_json())
    html = Path(rebuild_index(store, None, settings)).read_text()
    assert 'data-severity="high"' in html and "report:2026-11-08" in html
    empty = ArtifactStore(store.root + "-empty")
    assert "No monitoring runs yet" in Path(rebuild_index(empty, None, settings)).read_text()


def test_server_serves_files_read_only_on_loopback(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<h1>runs</h1>")
    server = make_server(tmp_path, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    try:
        assert host == "127.0.0.1"
        assert httpx.get(f"http://127.0.0.1:{port}/index.html").text == "<h1>runs</h1>"
        assert httpx.post(f"http://127.0.0.1:{port}/index.html").status_code == 501
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(InputError, match="does not exist"):
        make_server(tmp_path / "missing")


def test_cli_builds_a_report_and_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DRIFTLOOP_HOME", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)
    result = drift_result(severity="insufficient_data")
    (tmp_path / "drift.json").write_text(result.to_json())
    reference = feature_frame(50, np.random.default_rng(3), shift=0.0)
    reference.to_parquet(tmp_path / "ref.parquet")
    reference.iloc[:0].to_parquet(tmp_path / "cur.parquet")
    out = tmp_path / "var" / "reports" / "2026-11-08"
    code = main(
        [
            "reports", "build", "--result", "drift.json", "--features", "cur.parquet",
            "--baseline", "ref.parquet", "--out", str(out), "--link", "airflow_run=http://af/r",
        ]
    )  # fmt: skip
    assert code == 0 and (out / "index.html").exists()
    assert main(["reports", "index", "--no-db"]) == 0
    assert "2026-11-08/index.html" in (tmp_path / "var" / "reports" / "index.html").read_text()
    assert main(["reports", "build", "--result", "nope.json", "--features", "cur.parquet",
                 "--baseline", "ref.parquet", "--out", str(out)]) == 1  # fmt: skip
    assert "cannot read drift result 'nope.json'" in capsys.readouterr().err
