"""compare(): decisions, correction, severity, the result's JSON."""

from __future__ import annotations

import pytest

from driftloop.config import FeatureTest
from driftloop.drift import build_baseline, compare
from driftloop.drift.compare import apply_correction
from driftloop.errors import ConfigError
from driftloop.results import DriftResult, FeatureDrift


@pytest.fixture
def baseline(settings, make_features):
    return build_baseline(make_features(3000, seed=1), settings=settings, model_version="m1")


def test_no_shift_draw_gives_no_drift(baseline, settings, make_features) -> None:
    result = compare(baseline, make_features(200, seed=11), settings)
    assert result.severity == "none" and not result.drift_detected
    assert result.n_reference == 3000 and result.n_current == 200
    groups = {f.group for f in result.features}
    assert groups == {"image", "model", "embedding"}
    assert {f.name for f in result.features} >= {
        "prediction",
        "confidence",
        "class_distribution",
        "embedding",
    }


def test_strong_shift_gives_high_severity(baseline, settings, make_features) -> None:
    result = compare(baseline, make_features(200, seed=12, brightness=1.5), settings)
    assert result.drift_detected and result.severity == "high"
    assert {"mean", "std", "embedding"} <= {f.name for f in result.drifted_features}


def test_too_few_images_give_insufficient_data_and_no_drift(
    baseline, settings, make_features
) -> None:
    result = compare(baseline, make_features(29, seed=13, brightness=2.0), settings)
    assert result.severity == "insufficient_data"
    assert not result.drift_detected
    assert "n_current < 30" in result.severity_rule


def test_class_share_shift_is_model_side_drift(baseline, settings, make_features) -> None:
    current = make_features(300, seed=14, class_shares=(0.55, 0.15, 0.15, 0.15))
    result = compare(baseline, current, settings)
    rows = {f.name: f for f in result.features}
    assert rows["class_distribution"].drifted and rows["class_distribution"].test == "chisquare"
    assert rows["prediction"].drifted and rows["prediction"].test == "ks_bonferroni"
    shares = result.details["class_shares"]
    assert shares["current"]["glioma"] > shares["reference"]["glioma"] + 0.2
    assert sum(result.details["confidence_histogram"]["current"]) == 300


def test_large_samples_use_normed_wasserstein_and_a_domain_classifier(
    baseline, settings, make_features
) -> None:
    result = compare(baseline, make_features(1500, seed=15), settings)
    rows = {f.name: f for f in result.features}
    assert rows["mean"].test == "wasserstein" and rows["mean"].p_value is None
    assert rows["mean"].threshold == 0.1
    assert rows["embedding"].test == "classifier_auc"
    assert rows["format"].test == "jensenshannon"
    assert not result.drift_detected


def test_per_feature_override_changes_test_and_threshold(baseline, settings, make_features) -> None:
    settings.drift.per_feature = {"mean": FeatureTest(test="psi", threshold=0.5)}
    rows = {f.name: f for f in compare(baseline, make_features(200, seed=16), settings).features}
    assert rows["mean"].test == "psi" and rows["mean"].threshold == 0.5
    assert rows["mean"].p_value is None


def test_override_with_a_test_that_does_not_fit_the_kind_is_a_config_error(
    baseline, settings, make_features
) -> None:
    settings.drift.per_feature = {"format": FeatureTest(test="ks")}
    with pytest.raises(ConfigError, match=r"per_feature.format.test='ks'.*categorical"):
        compare(baseline, make_features(200, seed=17), settings)


def _row(name: str, p: float) -> FeatureDrift:
    return FeatureDrift(name, "ks", 0.1, p, 0.05, p < 0.05)


def test_correction_decides_p_value_rows_across_the_family(settings) -> None:
    rows = [_row("a", 0.001), _row("b", 0.02), _row("c", 0.04), _row("d", 0.9)]
    settings.drift.correction = "bonferroni"
    assert [r.drifted for r in apply_correction(rows, settings.drift)] == [
        True,
        False,
        False,
        False,
    ]
    settings.drift.correction = "bh"
    bh = apply_correction(rows, settings.drift)
    assert [r.drifted for r in bh] == [True, True, False, False]
    assert bh[1].p_adjusted == pytest.approx(0.04)
    settings.drift.correction = "none"
    assert [r.drifted for r in apply_correction(rows, settings.drift)] == [True, True, True, False]


def test_distance_rows_are_not_corrected(settings) -> None:
    row = FeatureDrift("w", "wasserstein", 0.2, None, 0.1, True)
    assert apply_correction([row], settings.drift) == [row]


def test_result_round_trips_through_json(baseline, settings, make_features) -> None:
    result = compare(
        baseline,
        make_features(120, seed=18, brightness=1.2),
        settings,
        n_quarantined=3,
        logical_date="2026-11-02",
    )
    again = DriftResult.from_json(result.to_json())
    assert again == DriftResult.from_dict(result.to_dict())
    assert again.features == result.features
    assert again.n_quarantined == 3 and again.logical_date == "2026-11-02"
    assert again.severity == result.severity and again.severity_rule == result.severity_rule


def test_missing_feature_in_current_table_is_skipped(baseline, settings, make_features) -> None:
    current = make_features(100, seed=19).drop(columns=["sharpness"])
    names = {f.name for f in compare(baseline, current, settings).features}
    assert "sharpness" not in names and "mean" in names


def test_false_alarm_rate_on_same_distribution_draws_is_at_most_alpha(
    baseline, settings, make_features
) -> None:
    settings.drift.embedding_permutations = 50
    alarms = sum(
        compare(baseline, make_features(100, seed=100 + i), settings).drift_detected
        for i in range(30)
    )
    # 30 draws at a 5% family-wise level: 5 or more alarms has probability < 2%.
    assert alarms <= 4
