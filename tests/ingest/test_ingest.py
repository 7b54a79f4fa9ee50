"""ingest(): counts add up, bad files are copied and recorded, sources stay untouched."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
from pathlib import Path

import pytest
from ingest_images import jpeg_bytes, phantom
from sqlalchemy import select

from driftloop.cli import main
from driftloop.errors import InputError
from driftloop.ingest import ingest, read_manifest
from driftloop.storage.models import PredictionLog, QuarantineRecord

DAY = "2026-11-05"


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def test_every_listed_file_is_accepted_or_quarantined(dirty_dir, settings, db, store):
    summary = ingest(str(dirty_dir), DAY, settings, db=db, store=store)
    assert summary.n_listed == 10
    assert summary.n_listed == summary.n_accepted + summary.n_quarantined
    assert (summary.n_accepted, summary.n_duplicates) == (4, 1)
    m = read_manifest(summary.manifest_uri)
    assert len(m) == summary.n_listed
    reasons = dict(zip(m["uri"].map(lambda u: Path(u).name), m["reason_code"], strict=True))
    expected = {
        "z_dup_of_a.jpg": "duplicate", "truncated.jpg": "truncated", "zero.jpg": "empty_file",
        "text.jpg": "not_an_image", "bomb.bmp": "too_large", "nopixels.dcm": "dicom_no_pixels",
        "good_a.jpg": None, "good_b.png": None, "colour.jpg": None, "scan.dcm": None,
    }  # fmt: skip
    for name, code in expected.items():
        assert (reasons[name] if isinstance(reasons[name], str) else None) == code, name
    accepted = m[m["status"] == "accepted"]
    assert set(accepted["shard"]) == {0} and set(m[m["status"] != "accepted"]["shard"]) == {-1}
    assert summary.shards == (0,)


def test_sources_are_unchanged_after_ingest(dirty_dir, settings, db, store):
    before = _hashes(dirty_dir)
    ingest(str(dirty_dir), DAY, settings, db=db, store=store)
    assert _hashes(dirty_dir) == before


def test_bad_files_are_copied_to_quarantine_with_a_row_each(dirty_dir, settings, db, store, layout):
    summary = ingest(str(dirty_dir), DAY, settings, db=db, store=store)
    with db.session() as s:
        rows = s.scalars(select(QuarantineRecord)).all()
    assert len(rows) == summary.n_quarantined
    for r in rows:
        assert r.reason and r.reason_code
        if r.reason_code != "empty_file":
            assert Path(r.quarantine_uri).read_bytes() == Path(r.source_uri).read_bytes()
        assert Path(r.quarantine_uri).parent == Path(layout.quarantine_dir(DAY))


def test_rerun_of_a_date_does_not_duplicate_quarantine_rows(dirty_dir, settings, db, store):
    first = ingest(str(dirty_dir), DAY, settings, db=db, store=store)
    (dirty_dir / "zero.jpg").write_bytes(jpeg_bytes(phantom(64, 9)))  # now a good file
    second = ingest(str(dirty_dir), DAY, settings, db=db, store=store)
    with db.session() as s:
        n = len(s.scalars(select(QuarantineRecord)).all())
    assert n == second.n_quarantined == first.n_quarantined - 1


def test_shards_group_accepted_images_by_shard_size(tmp_path, settings, db, store):
    src = tmp_path / "many"
    src.mkdir()
    for i in range(5):
        (src / f"{i}.jpg").write_bytes(jpeg_bytes(phantom(48, i)))
    settings.ingest.shard_size = 2
    summary = ingest(str(src), DAY, settings, db=db, store=store)
    assert summary.shards == (0, 1, 2)
    assert list(read_manifest(summary.manifest_uri)["shard"]) == [0, 0, 1, 1, 2]


def test_fsspec_memory_source_is_listed_and_read(settings, db, store):
    import fsspec

    fs = fsspec.filesystem("memory")
    fs.pipe("/bucket/day/a.jpg", jpeg_bytes(phantom(48, 1)))
    fs.pipe("/bucket/day/b.jpg", b"junk")
    summary = ingest("memory://bucket/day", DAY, settings, db=db, store=store)
    assert (summary.n_listed, summary.n_accepted, summary.n_quarantined) == (2, 1, 1)
    assert read_manifest(summary.manifest_uri)["uri"].tolist()[0].startswith("memory://")


@pytest.mark.skipif(importlib.util.find_spec("gcsfs") is not None, reason="gcsfs installed")
def test_missing_fsspec_backend_names_the_extra(settings, db, store):
    with pytest.raises(InputError, match=r"driftloop\[gcs\]"):
        ingest("gs://bucket/day", DAY, settings, db=db, store=store)


def test_missing_source_folder_is_a_clear_error(tmp_path, settings, db, store):
    with pytest.raises(InputError, match="does not exist"):
        ingest(str(tmp_path / "nope"), DAY, settings, db=db, store=store)


def test_predictions_log_source_takes_only_the_logical_day(tmp_path, settings, db, store):
    inside, outside = tmp_path / "in.jpg", tmp_path / "out.jpg"
    inside.write_bytes(jpeg_bytes(phantom(48, 1)))
    outside.write_bytes(jpeg_bytes(phantom(48, 2)))
    day = dt.datetime(2026, 11, 5, tzinfo=dt.UTC)
    with db.session() as s:
        for i, (uri, when) in enumerate(
            [(inside, day + dt.timedelta(hours=23)), (outside, day + dt.timedelta(days=1))]
        ):
            s.add(PredictionLog(request_id=f"r{i}", image_sha256="x" * 64, image_uri=str(uri),
                                received_at=when, predicted_class="glioma", confidence=0.9))  # fmt: skip
    summary = ingest("predictions-log://", DAY, settings, db=db, store=store)
    assert summary.n_listed == summary.n_accepted == 1
    assert read_manifest(summary.manifest_uri)["uri"].tolist() == [str(inside)]


def test_cli_ingest_prints_the_counts(dirty_dir, settings, db, capsys, monkeypatch):
    monkeypatch.setenv("DRIFTLOOP_HOME", str(settings.home))
    out = settings.home / "m.parquet"
    code = main(["ingest", "--source", str(dirty_dir), "--date", DAY, "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0 and "listed 10, accepted 4, quarantined 6" in text and out.exists()


def test_bad_date_is_a_clear_error(dirty_dir, settings, db, store):
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        ingest(str(dirty_dir), "05/11/2026", settings, db=db, store=store)
