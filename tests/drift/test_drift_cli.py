"""driftloop baseline build|merge|show and driftloop compare, end to end in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from driftloop.drift import cli as drift_cli
from driftloop.errors import InputError


@pytest.fixture
def run(settings, monkeypatch, tmp_path):
    import argparse

    def _run(*argv: str) -> int:
        parser = argparse.ArgumentParser()
        drift_cli.register(parser.add_subparsers(dest="command", required=True))
        args = parser.parse_args(list(argv))
        return int(args.func(args, settings))

    monkeypatch.chdir(tmp_path)
    return _run


def test_build_show_compare_and_fail_on(run, make_features, tmp_path, capsys) -> None:
    make_features(600, seed=1).to_parquet(tmp_path / "ref.parquet")
    make_features(200, seed=2, brightness=1.5).to_parquet(tmp_path / "cur.parquet")
    assert run("baseline", "build", "--features", "ref.parquet") == 0
    assert run("baseline", "show") == 0
    shown = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert shown["n_rows"] == 600 and shown["features"]["format"] == "categorical"
    code = run("compare", "--features", "cur.parquet", "--out", "drift.json", "--fail-on", "medium")
    assert code == 3
    result = json.loads(Path("drift.json").read_text())
    assert result["severity"] == "high" and result["drift_detected"] is True
    assert run("compare", "--features", "cur.parquet", "--out", "d2.json") == 0


def test_merge_combines_shards(run, make_features, tmp_path, capsys) -> None:
    df = make_features(400, seed=3)
    df.iloc[:200].to_parquet(tmp_path / "a.parquet")
    df.iloc[200:].to_parquet(tmp_path / "b.parquet")
    assert run("baseline", "build", "--features", "a.parquet", "--out", "ba", "--no-current") == 0
    assert run("baseline", "build", "--features", "b.parquet", "--out", "bb", "--no-current") == 0
    assert run("baseline", "merge", "ba", "bb", "--out", "merged") == 0
    assert (tmp_path / "merged" / "profile.json").is_file()
    assert json.loads((tmp_path / "merged" / "profile.json").read_text())["n_rows"] == 400
    capsys.readouterr()
    assert run("baseline", "show", "merged") == 0
    assert json.loads(capsys.readouterr().out)["n_rows"] == 400


def test_missing_feature_table_is_an_input_error(run) -> None:
    with pytest.raises(InputError, match="feature table 'nope.parquet' not found"):
        run("baseline", "build", "--features", "nope.parquet")
