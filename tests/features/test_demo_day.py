"""End to end on the demo's dirty production day: ingest then extract."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftloop.features import extract, read_features
from driftloop.ingest import ingest, read_manifest

EXPECTED = {
    "truncated_jpeg": "truncated",
    "zero_byte": "empty_file",
    "text_as_jpeg": "not_an_image",
    "huge_dimensions": "too_large",
    "rgb": None,  # accepted with channels=3 (docs/ingest.md)
    "dicom_no_pixels": "dicom_no_pixels",
}


@pytest.mark.slow  # the session demo_tiny fixture takes about a minute on 2 shared cores
def test_dirty_demo_day_is_ingested_and_extracted(demo_tiny, settings, db, store, tmp_path):
    bad = sorted((demo_tiny / "production").glob("*/bad_*"))
    assert bad, "the demo data set has no dirty day"
    day = bad[0].parent
    summary = ingest(str(day), day.name, settings, db=db, store=store)
    assert summary.n_listed == len([p for p in day.rglob("*") if p.is_file()])
    assert summary.n_listed == summary.n_accepted + summary.n_quarantined
    m = read_manifest(summary.manifest_uri)
    codes = {Path(u).name: c for u, c in zip(m["uri"], m["reason_code"], strict=True)}
    for name, code in codes.items():
        for kind, want in EXPECTED.items():
            if name.startswith("bad_") and kind in name:
                assert (code if isinstance(code, str) else None) == want, name
    result = extract(summary.manifest_uri, str(tmp_path / "f"), settings, workers=2)
    df = read_features(str(tmp_path / "f"))
    assert len(df) == result.n_rows == summary.n_accepted and result.n_failed == 0
    rgb = df[df["uri"].str.contains("_rgb")]
    assert (rgb["channels"] == 3).all()
