"""The artifact store writes atomically and lays runs out by date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from driftloop.errors import StorageError
from driftloop.storage.artifacts import ArtifactStore, Layout, is_local


def test_write_is_atomic_on_error(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    store.write_text("a/b.txt", "old")
    with pytest.raises(RuntimeError), store.open_write("a/b.txt") as tmp:
        tmp.write_text("half-writ")
        raise RuntimeError("crash mid-write")
    assert store.read_text("a/b.txt") == "old"
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["b.txt"]


def test_put_dir_replaces_a_folder_in_one_step(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "root")
    src1 = tmp_path / "s1"
    src1.mkdir()
    (src1 / "x.txt").write_text("1")
    store.put_dir(src1, "models/v1")
    src2 = tmp_path / "s2"
    src2.mkdir()
    (src2 / "y.txt").write_text("2")
    store.put_dir(src2, "models/v1")
    assert sorted(p.name for p in (tmp_path / "root/models/v1").iterdir()) == ["y.txt"]
    assert not [p for p in (tmp_path / "root/models").iterdir() if p.name.startswith(".")]


def test_missing_artifact_is_a_storage_error(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    with pytest.raises(StorageError, match="not found"):
        store.read_bytes("nope.json")
    with pytest.raises(StorageError, match="not found"), store.local_copy("nope.json"):
        pass


def test_layout_keys_runs_by_logical_date(tmp_path: Path) -> None:
    layout = Layout(ArtifactStore(tmp_path))
    day = dt.date(2026, 11, 5)
    assert layout.manifest(day) == f"{tmp_path}/runs/2026-11-05/manifest.parquet"
    assert layout.report_dir("2026-11-05") == f"{tmp_path}/reports/2026-11-05"
    assert layout.quarantine_dir(day).endswith("quarantine/2026-11-05")


def test_memory_fsspec_root_round_trips() -> None:
    store = ArtifactStore("memory://driftloop-test")
    assert not store.local
    store.write_text("runs/x.json", "{}")
    assert store.exists("runs/x.json")
    assert store.read_text("memory://driftloop-test/runs/x.json") == "{}"
    assert store.listdir("runs") == ["memory://driftloop-test/runs/x.json"]
    store.remove("runs")
    assert not store.exists("runs/x.json")


def test_unknown_protocol_says_what_to_install() -> None:
    store = ArtifactStore("nosuchproto://bucket/x")
    with pytest.raises(StorageError, match="install"):
        store.exists("a")


def test_is_local() -> None:
    assert is_local("/tmp/x") and is_local("file:///tmp/x") and not is_local("s3://b/x")
