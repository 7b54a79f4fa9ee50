"""Baseline profiles: build, merge, save, load."""

from __future__ import annotations

import json

import numpy as np
import pytest

from driftloop.drift import build_baseline, compare, load_baseline, merge_baselines, save_baseline
from driftloop.drift.baseline import Histogram
from driftloop.errors import BaselineError
from driftloop.storage.models import BaselineVersion


def test_build_profiles_image_features_but_not_ids_or_model_outputs(
    settings, make_features
) -> None:
    df = make_features(400)
    b = build_baseline(df, settings=settings, model_version="m1")
    names = {c.name for c in b.columns}
    assert {"mean", "sharpness", "format", "width"} <= names
    assert not names & {"uri", "sha256", "pred_class", "confidence", "prob_glioma", "embedding"}
    assert {c.name: c.kind for c in b.columns}["format"] == "categorical"
    assert b.n_rows == 400 and b.model_version == "m1"
    assert sum(b.class_counts.values()) == 400
    assert sum(b.confidence_counts) == 400
    assert b.projection is not None and b.projected_reference().shape[0] == 400
    assert list(b.reference_frame().columns) == list(df.columns)


def test_reservoir_is_capped_at_the_configured_size(settings, make_features) -> None:
    settings.drift.reservoir_size = 150
    b = build_baseline(make_features(1000), settings=settings)
    assert len(b.reference_frame()) == 150
    assert b.n_rows == 1000
    assert b.histograms["mean"].n == 1000


def test_empty_table_is_rejected(settings, make_features) -> None:
    with pytest.raises(BaselineError, match="empty feature table"):
        build_baseline(make_features(10).iloc[:0], settings=settings)


def test_table_without_features_is_rejected(settings, make_features) -> None:
    with pytest.raises(BaselineError, match="no feature columns"):
        build_baseline(make_features(10)[["uri", "sha256"]], settings=settings)


def test_merge_of_two_halves_matches_the_whole(settings, make_features) -> None:
    settings.drift.reservoir_size = 600
    df = make_features(1200, seed=4)
    whole = build_baseline(df, settings=settings)
    a = build_baseline(df.iloc[:600], settings=settings)
    b = build_baseline(df.iloc[600:], settings=settings)
    merged = merge_baselines([a, b], reservoir_size=600)
    assert merged.n_rows == 1200 and len(merged.reservoir) == 600
    assert merged.class_counts == whole.class_counts
    assert merged.category_counts["format"] == whole.category_counts["format"]
    assert merged.confidence_counts == whole.confidence_counts
    h = merged.histograms["mean"]
    assert sum(h.counts) == 1200
    assert h.mean == pytest.approx(whole.histograms["mean"].mean)
    assert h.std == pytest.approx(whole.histograms["mean"].std)
    # Each half contributes about half of the merged reservoir.
    from_first = merged.reservoir["uri"].isin(df["uri"].iloc[:600]).sum()
    assert 240 < from_first < 360
    current = make_features(300, seed=9)
    by_whole = {f.name: f.statistic for f in compare(whole, current, settings).features}
    by_merged = {f.name: f.statistic for f in compare(merged, current, settings).features}
    for name in ("mean", "std", "sharpness"):
        assert by_merged[name] == pytest.approx(by_whole[name], abs=0.06)


def test_histograms_with_equal_edges_add_exactly() -> None:
    x = np.arange(100.0)
    h = Histogram.of(x)
    both = h.merged(h)
    assert both.counts == tuple(2 * c for c in h.counts)
    other = Histogram.of(np.arange(50.0, 300.0))
    assert sum(h.merged(other).counts) == 350


def test_merge_refuses_baselines_of_different_models(settings, make_features) -> None:
    a = build_baseline(make_features(100), settings=settings, model_version="m1")
    b = build_baseline(make_features(100, seed=2), settings=settings, model_version="m2")
    with pytest.raises(BaselineError, match="different models"):
        merge_baselines([a, b])
    with pytest.raises(BaselineError, match="at least one"):
        merge_baselines([])


def test_save_and_load_round_trip_records_version_and_current(
    settings, store, db, make_features
) -> None:
    b = build_baseline(make_features(200), settings=settings, model_version="m1")
    uri = save_baseline(b, store, db)
    pointer = json.loads(store.read_text("baselines/CURRENT"))
    assert pointer == {"version": b.version, "uri": uri}
    loaded = load_baseline("current", store)
    assert loaded.version == b.version and loaded.n_rows == 200
    assert loaded.class_counts == b.class_counts
    assert loaded.columns == b.columns
    np.testing.assert_allclose(loaded.projected_reference(), b.projected_reference())
    assert len(loaded.reference_frame()) == 200
    with db.session() as s:
        rows = s.query(BaselineVersion).all()
        assert [(r.version, r.is_current, r.n_rows) for r in rows] == [(b.version, True, 200)]


def test_saving_a_new_baseline_moves_the_current_flag(settings, store, db, make_features) -> None:
    first = build_baseline(make_features(100), settings=settings, data_fingerprint="a" * 64)
    save_baseline(first, store, db)
    second = build_baseline(
        make_features(100, seed=1), settings=settings, data_fingerprint="b" * 64
    )
    save_baseline(second, store, db)
    with db.session() as s:
        current = {r.version: r.is_current for r in s.query(BaselineVersion)}
    assert current == {first.version: False, second.version: True}
    assert load_baseline("current", store).version == second.version


def test_missing_current_baseline_names_the_path_and_the_command(store) -> None:
    with pytest.raises(BaselineError, match=r"CURRENT' does not exist.*driftloop baseline build"):
        load_baseline("current", store)


def test_missing_baseline_folder_is_a_baseline_error(store, tmp_path) -> None:
    with pytest.raises(BaselineError, match=r"nowhere/profile.json' not found"):
        load_baseline(str(tmp_path / "nowhere"), store)
