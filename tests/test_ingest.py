"""dupbench/engine/reads.py: a new file read once gives its sha256, its size as shown and (for a
method that prepares on its workers) its features, the same as reading it three times did."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
from PIL import Image

from dupbench.engine.reads import read_new
from dupbench.features import FeatureCache, feature_identity
from dupbench.images.decode import Decode, decode
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
    from dupbench.engine.reads import read_bytes

    rng = np.random.default_rng(0)
    for size in (0, 1, 4095, 4096, (1 << 20) + 3, 3 << 20):
        data = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        (tmp_path / "f").write_bytes(data)
        assert read_bytes(tmp_path / "f") == data


def test_a_long_batch_holds_at_most_BATCH_decoded_images_and_gives_the_same_features(tmp_path, monkeypatch):
    """A worker's batch may be READ_BATCH files (fewer hand-overs); its decoded images are prepared BATCH
    at a time (a batch of big photos must not hold hundreds of decodes), the features the same."""
    from dupbench.engine.reads import read_batch
    from dupbench.images.decode import BATCH

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
    from dupbench.engine import reads as ingest

    method = create_method("phash")
    paths = folder(tmp_path) * 40  # 200 files
    batches = list(read_new(method, paths, Decode.for_method(method), workers=2, cached=frozenset(), prepare=False))
    sizes = [len(b.facts) + len(b.unreadable) for b in batches]
    assert sum(sizes) == 200 and max(sizes) <= max(ingest.BATCH, 200 // 8 + 1) and len(sizes) >= 4


def test_reads_started_during_a_scan_come_back_as_a_read_after_it_would_give_them(tmp_path, monkeypatch):
    """ScanReads: files offered while a scan goes on are read on forked workers in full batches; read_new
    then gives every file's facts and features under the caller's numbering, the same as reading after
    the scan, and drops a file offered early that the caller does not read (a link its scan left out)."""
    from dupbench.engine import reads as ingest

    monkeypatch.setattr(ingest, "PROCESSES_FROM", 3)
    monkeypatch.setattr(ingest, "READ_BATCH", 2)
    # Started whatever threads earlier tests left in this process: worker_pool itself then takes the fork
    # server instead of forking.
    monkeypatch.setattr(ingest, "fork_is_safe", lambda: True)
    paths = [bytes(p) for p in folder(tmp_path)] * 2  # every file twice: a second folder's byte copies
    paths = [p.replace(b".", b"-%d." % k, 1) if k >= 5 else p for k, p in enumerate(paths)]
    for k, path in enumerate(paths[5:], start=5):
        Path(path.decode()).write_bytes(Path(paths[k - 5].decode()).read_bytes())
    method = create_method("phash")
    want = Decode.for_method(method)

    def read(early=None, wanted=paths):
        batches = list(read_new(method, wanted, want, 2, frozenset(), True, early=early))
        assert all(len(b.prepared) == (0 if b.part is None else len(b.part)) for b in batches)
        facts = {wanted[i]: f for b in batches for i, f in b.facts.items()}
        unreadable = {wanted[i]: why for b in batches for i, why in b.unreadable.items()}
        # Features by content: which of a content's files carries them depends on the batches.
        rows = {
            facts[wanted[i]].sha256: row.tolist() for b in batches if b.prepared for i, row in zip(b.prepared, b.part)
        }
        return facts, unreadable, rows

    after = read()

    def offer_folders(early: ingest.ScanReads) -> None:
        """Two files a folder, each folder offered once the batch before is read: one batch at a time
        while the scan goes on (the scan keeps a core)."""
        for start in range(0, len(paths), 2):
            early.offer(paths[start : start + 2])
            assert len(early.running) <= 1
            if early.sent:
                early.sent[-1][1].result()

    with ingest.ScanReads(method, want, 2, True, frozenset) as early:
        early.offer(paths[:2])
        assert early.pool is None  # fewer than PROCESSES_FROM offered: nothing started yet
        early.offer(paths[2:7])
        assert early.pool is not None and [len(chunk) for chunk, _ in early.sent] == [2]
        during = read(early)
    assert during == after
    with ingest.ScanReads(method, want, 2, True, frozenset) as early:
        offer_folders(early)
        assert [chunk for chunk, _ in early.sent] == [paths[k : k + 2] for k in (0, 2, 4, 6)]
        kept = [p for k, p in enumerate(paths) if k != 2]  # offered, then left out by the caller
        facts, unreadable, rows = read(early, kept)
    assert facts == {p: f for p, f in after[0].items() if p != paths[2]} and unreadable == after[1]
    assert rows == after[2]  # paths[2]'s features left its batch; its content's came with its copy, paths[7]
