"""Issue 40, one engine: `dupbench find`, the field and the kinds benchmark encode files through
dupbench.engine.encode_files and no reader of their own, so what the benchmark measures is the read path
that ships. Each test counts the engine's calls: a caller that encodes another way makes it fail."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from dupbench import engine
from dupbench.features import FeatureCache
from dupbench.images.decode import Decode, file_digests
from dupbench.methods import create_method
from experiments.config import compose_config
from experiments.data import load_dataset
from experiments.data.embedded import ensure_embedded
from experiments.data.encode import encode
from experiments.paths import REPO_ROOT
from tests.conftest import run_in_process
from tests.test_find import found_json

EMBEDDED = REPO_ROOT / "data" / "embedded"


@pytest.fixture
def calls(monkeypatch) -> list[tuple[str, int]]:
    """(method, files) of every encode_files call from here on."""
    seen: list[tuple[str, int]] = []
    real = engine.encode_files

    def recording(method, want, paths, *args, **kwargs):
        seen.append((method.name, len(paths)))
        return real(method, want, paths, *args, **kwargs)

    monkeypatch.setattr(engine, "encode_files", recording)
    return seen


@pytest.fixture
def photos(tmp_path):
    ensure_embedded(EMBEDDED)
    folder = tmp_path / "photos"
    folder.mkdir()
    for group in sorted(p for p in EMBEDDED.iterdir() if p.is_dir())[:4]:
        for source in sorted(group.iterdir()):
            shutil.copy(source, folder / f"{group.name}-{source.name}")
    shutil.copy(next(folder.iterdir()), folder / "a byte copy.jpg")  # one content, two files
    return folder


def test_find_encodes_through_the_engine(photos, tmp_path, calls):
    _, answer = found_json(tmp_path, str(photos), "--method", "phash", "--cache", str(tmp_path / "c"), "--quiet")
    assert calls == [("phash", answer["images"])]


def test_the_benchmarks_rows_are_the_finders_rows_file_by_file(photos, tmp_path, calls):
    """The benchmark's encode gives each file the row `dupbench find` keeps for its content (a byte copy
    repeats it), for a hash (prepared on the read's workers) and a network (encoded after the read)."""
    paths = sorted(photos.iterdir())
    for name in ("phash", "sscd_distilled"):
        method = create_method(name)
        want = Decode.for_method(method)
        bench = encode(method, paths, file_digests(paths, 2), want)
        with FeatureCache(tmp_path / f"{name}.sqlite") as cache:
            done = engine.encode_files(method, want, [str(p) for p in paths], cache, 2)
        assert np.array_equal(np.asarray(bench.prepared), np.asarray(done.prepared)[done.row_of])
        assert len(done.contents) == len(paths) - 1
    assert [n for n, _ in calls] == ["phash", "phash", "sscd_distilled", "sscd_distilled"]


def test_a_file_changed_since_the_data_set_was_checked_is_one_clear_error(photos):
    paths = sorted(photos.iterdir())
    digests = file_digests(paths, 2)
    digests[0] = "0" * 64
    method = create_method("phash")
    with pytest.raises(Exception, match=r"1 file\(s\) could not be encoded as checked; the first: .*changed since"):
        encode(method, paths, digests, Decode.for_method(method))


def test_the_field_encodes_through_the_engine(tmp_path, calls):
    code, err = run_in_process(
        tmp_path, "experiment=field", "dataset=embedded", "method.names=[ahash,phash]", "experiment.budget_s=100000"
    )
    assert code == 0, err
    images = len(load_dataset(compose_config(["dataset=embedded"]).dataset).items)
    assert calls == [("ahash", images), ("phash", images)]


def test_the_kinds_benchmark_encodes_through_the_engine(tmp_path, calls):
    from experiments.tools.kinds import Kinds

    dataset = load_dataset(compose_config(["dataset=embedded"]).dataset)
    kinds = Kinds.__new__(Kinds)  # one tiny kind: the shared data sets are not needed to see the path
    kinds.cache_dir = tmp_path / "cache"
    kinds.sets = {"photos": {"main": dataset, "nodup": dataset}}
    kinds.digests = {("photos", role): file_digests([it.path for it in dataset.items], 2) for role in ("main", "nodup")}
    calibrate, scored, _ = kinds.folders(create_method("phash"))
    assert calls == [("phash", len(dataset.items))] * 2
    assert len(calibrate) == len(scored) == 2
