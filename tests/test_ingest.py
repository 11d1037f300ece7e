"""dupbench/images/ingest.py: a new file read once gives its sha256, its size as shown and (for a
method that prepares on its workers) its features, the same as reading it three times did."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
from PIL import Image

from dupbench.features import FeatureCache, feature_identity
from dupbench.images.decode import Decode, decode
from dupbench.images.ingest import read_new
from dupbench.methods.registry import create_method
from tests.conftest import photo


def jpeg(image: Image.Image, orientation: int | None = None) -> bytes:
    out = io.BytesIO()
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def folder(tmp_path: Path) -> list[Path]:
    """A JPEG, its byte copy, a JPEG turned a quarter by EXIF only, a PNG and a file that is no image."""
    wide = photo("astronaut", (120, 80))
    files = {
        "a.jpg": jpeg(wide),
        "a-copy.jpg": jpeg(wide),
        "turned.jpg": jpeg(wide, orientation=6),
        "coffee.png": None,
        "notes.jpg": b"not a photo",
    }
    paths = []
    for name, data in files.items():
        path = tmp_path / name
        if data is None:
            photo("coffee", (64, 48)).save(path)
        else:
            path.write_bytes(data)
        paths.append(path)
    return paths


def test_one_read_gives_each_files_facts_and_each_new_contents_features(tmp_path):
    paths = folder(tmp_path)
    method = create_method("phash")
    want = Decode.for_method(method)
    batches = list(read_new(method, paths, want, workers=2, cached=frozenset(), prepare=True))
    facts = {i: f for b in batches for i, f in b.facts.items()}
    unreadable = {i: why for b in batches for i, why in b.unreadable.items()}
    prepared = [i for b in batches for i in b.prepared]
    rows = np.concatenate([b.part for b in batches if b.part is not None])

    assert [facts[i].sha256 for i in range(4)] == [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths[:4]]
    assert (facts[0].width, facts[0].height) == (120, 80)
    assert (facts[2].width, facts[2].height) == (80, 120)  # shown turned, as the decode shows it
    assert (facts[3].width, facts[3].height) == (64, 48)
    assert list(unreadable) == [4]
    sha, why = unreadable[4]
    assert sha == hashlib.sha256(b"not a photo").hexdigest() and str(paths[4]) in why
    # The byte copy is one content: prepared once; every other readable file once, as decode() gives it.
    assert prepared == [0, 2, 3]
    expected = method.prepare_many([decode(paths[i].read_bytes(), want) for i in prepared])
    assert np.array_equal(rows, expected)


def test_a_method_that_takes_arrays_gets_the_features_decode_gives(tmp_path):
    """PDQ reads arrays: its JPEGs skip the Pillow image, turned ones included, to the same hashes."""
    paths = folder(tmp_path)
    method = create_method("pdq")
    assert method.takes_arrays
    want = Decode.for_method(method)
    given, prepare_many = [], method.prepare_many
    method.prepare_many = lambda images: given.extend(map(type, images)) or prepare_many(images)  # threads here
    batches = list(read_new(method, paths, want, workers=2, cached=frozenset(), prepare=True))
    assert given.count(np.ndarray) == 2  # the two JPEGs; the PNG went Pillow's way
    prepared = [i for b in batches for i in b.prepared]
    rows = np.concatenate([b.part for b in batches if b.part is not None])
    assert prepared == [0, 2, 3]
    assert np.array_equal(rows, method.prepare_many([decode(paths[i].read_bytes(), want) for i in prepared]))


def test_contents_the_cache_has_are_not_prepared_again(tmp_path):
    paths = folder(tmp_path)
    method = create_method("phash")
    want = Decode.for_method(method)
    identity = feature_identity(method, want.label)
    with FeatureCache(tmp_path / "cache.sqlite") as cache:
        first = hashlib.sha256(paths[0].read_bytes()).hexdigest()
        cache.put([(first, np.zeros(8, dtype=np.uint8))], identity)
        cached = cache.contents(identity)
    assert cached == frozenset({first})
    batches = list(read_new(method, paths, want, workers=1, cached=cached, prepare=True))
    assert [i for b in batches for i in b.prepared] == [2, 3]  # neither the cached content nor its byte copy
    assert len({i for b in batches for i in b.facts}) == 4  # facts of every readable file all the same


def test_facts_alone_for_a_method_that_prepares_on_this_thread(tmp_path):
    paths = folder(tmp_path)
    method = create_method("phash")
    batches = list(read_new(method, paths, Decode.for_method(method), workers=2, cached=frozenset(), prepare=False))
    assert all(not b.prepared and b.part is None for b in batches)
    assert sorted(i for b in batches for i in b.facts) == [0, 1, 2, 3]


def test_read_bytes_gives_every_byte_of_files_of_any_size(tmp_path):
    from dupbench.images.ingest import read_bytes

    rng = np.random.default_rng(0)
    for size in (0, 1, 4095, 4096, (1 << 20) + 3, 3 << 20):
        data = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        (tmp_path / "f").write_bytes(data)
        assert read_bytes(tmp_path / "f") == data


def test_a_long_batch_holds_at_most_BATCH_decoded_images_and_gives_the_same_features(tmp_path, monkeypatch):
    """A worker's batch may be READ_BATCH files (fewer hand-overs); its decoded images are prepared BATCH
    at a time (a batch of big photos must not hold hundreds of decodes), the features the same."""
    from dupbench.images.decode import BATCH
    from dupbench.images.ingest import read_batch

    method = create_method("phash")
    want = Decode.for_method(method)
    base = photo("astronaut", (160, 120))
    paths = []
    for k in range(2 * BATCH + 5):  # distinct contents: each is prepared
        path = tmp_path / f"{k:03d}.jpg"
        path.write_bytes(jpeg(base.rotate(k, fillcolor=(k, 0, 0))))
        paths.append(path)
    expected = method.prepare_many([decode(p.read_bytes(), want) for p in paths])
    sizes = []
    real = type(method).prepare_many
    monkeypatch.setattr(
        type(method), "prepare_many", lambda self, images: sizes.append(len(images)) or real(self, images)
    )
    out = read_batch(method, list(enumerate(paths)), want, prepare=True)
    assert sizes == [BATCH, BATCH, 5]
    assert out.prepared == list(range(len(paths))) and np.array_equal(out.part, expected)


def test_a_small_folder_gets_small_batches_so_every_worker_has_several(tmp_path):
    from dupbench.images import ingest

    method = create_method("phash")
    paths = folder(tmp_path) * 40  # 200 files
    batches = list(read_new(method, paths, Decode.for_method(method), workers=2, cached=frozenset(), prepare=False))
    sizes = [len(b.facts) + len(b.unreadable) for b in batches]
    assert sum(sizes) == 200 and max(sizes) <= max(ingest.BATCH, 200 // 8 + 1) and len(sizes) >= 4
