"""Every public function taking a URI accepts relative and absolute paths, file:// and fsspec URIs."""

from __future__ import annotations

import uuid
from pathlib import Path

import fsspec
import pytest
from ingest_images import jpeg_bytes, phantom

from driftloop.errors import FeatureError, InputError
from driftloop.features import extract, read_features
from driftloop.features.model_features import resolve_model_uri
from driftloop.ingest import ingest, read_manifest


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(3):
        (folder / f"scan_{i}.jpg").write_bytes(jpeg_bytes(phantom(64, i)))
    return folder


@pytest.fixture
def features_dir(images, settings, db, store, tmp_path) -> Path:
    """A feature folder holding two parts (shard size 2, three images)."""
    settings.ingest.shard_size = 2
    summary = ingest(str(images), "2026-11-05", settings, db=db, store=store)
    out = tmp_path / "work" / "features"
    assert len(extract(summary.manifest_uri, str(out), settings, workers=1).uris) == 2
    return out


@pytest.mark.parametrize("form", ["relative", "absolute", "file-uri"])
def test_read_features_accepts_a_folder_of_parts_in_any_local_form(
    features_dir, tmp_path, monkeypatch, form
):
    monkeypatch.chdir(tmp_path / "work")
    arg = {"relative": "features", "absolute": str(features_dir),
           "file-uri": f"file://{features_dir}"}[form]  # fmt: skip
    assert len(read_features(arg)) == 3


@pytest.mark.parametrize("form", ["relative", "dot-relative", "absolute", "file-uri"])
def test_read_features_accepts_one_parquet_file_in_any_local_form(
    features_dir, tmp_path, monkeypatch, form
):
    monkeypatch.chdir(tmp_path / "work")
    part = features_dir / "part-00000.parquet"
    arg = {"relative": "features/part-00000.parquet", "dot-relative": "./features/part-00000.parquet",
           "absolute": str(part), "file-uri": f"file://{part}"}[form]  # fmt: skip
    assert len(read_features(arg)) == 2


def test_read_features_reads_an_fsspec_folder_and_file(features_dir):
    root = f"memory://feat-{uuid.uuid4().hex}"
    fs = fsspec.filesystem("memory")
    for part in features_dir.glob("part-*.parquet"):
        fs.pipe(f"{root}/features/{part.name}", part.read_bytes())
    fs.pipe(f"{root}/features/notes.txt", b"not a part")
    assert len(read_features(f"{root}/features")) == 3
    assert len(read_features(f"{root}/features/part-00001.parquet")) == 1


def test_read_features_of_a_folder_without_parts_names_it(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FeatureError, match="no feature parts.*'empty'"):
        read_features("empty")
    with pytest.raises(FeatureError, match="'missing'"):
        read_features("missing")


def test_ingest_out_and_extract_paths_may_be_relative_to_the_working_directory(
    images, settings, db, store, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    summary = ingest("images", "2026-11-05", settings, db=db, store=store, out="m/manifest.parquet")
    assert summary.manifest_uri == str(tmp_path / "m" / "manifest.parquet")
    assert (tmp_path / "m" / "manifest.parquet").is_file()
    assert len(read_manifest("m/manifest.parquet")) == 3
    result = extract("m/manifest.parquet", "f", settings, workers=1)
    assert result.uris == (str(tmp_path / "f" / "part-00000.parquet"),)
    assert len(read_features("f")) == 3


def test_manifest_and_features_can_live_on_an_fsspec_filesystem(images, settings, db, store):
    root = f"memory://run-{uuid.uuid4().hex}"
    summary = ingest(str(images), "2026-11-05", settings, db=db, store=store,
                     out=f"{root}/manifest.parquet")  # fmt: skip
    assert summary.manifest_uri == f"{root}/manifest.parquet"
    result = extract(summary.manifest_uri, f"{root}/features", settings, workers=1)
    assert result.uris == (f"{root}/features/part-00000.parquet",)
    assert len(read_features(f"{root}/features")) == 3


def test_read_manifest_of_a_missing_relative_path_says_how_to_make_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="cannot read manifest 'nope.parquet'.*driftloop ingest"):
        read_manifest("nope.parquet")


def test_model_uri_that_is_a_missing_folder_is_an_error(settings, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FeatureError, match="model folder 'models/nope'.*does not exist"):
        resolve_model_uri("models/nope", settings)


def test_model_uri_relative_folder_becomes_absolute(settings, tmp_path, monkeypatch):
    (tmp_path / "mymodel").mkdir()
    monkeypatch.chdir(tmp_path)
    assert resolve_model_uri("mymodel", settings) == str(tmp_path / "mymodel")
    assert resolve_model_uri("s3://bucket/m/", settings) == "s3://bucket/m"


def test_model_current_without_a_champion_is_an_error(settings, db):
    with pytest.raises(FeatureError, match="model 'current': no champion"):
        resolve_model_uri("current", settings)


def test_unregistered_model_version_is_an_error(settings, db):
    with pytest.raises(FeatureError, match="'m-20990101-000000-abcdef' is neither a folder nor"):
        resolve_model_uri("m-20990101-000000-abcdef", settings)
