"""`dupbench find --verify` (issue 39, a first cut of its two stages): a descriptor's near group cut to
the images that the verification calls copies of its largest one. Invoices of one template, drawn by
experiments/data/lookalikes.py: pHash at a loose threshold groups an invoice with the next one, which
differs in one amount; --verify leaves that look-alike out and keeps the invoice's own copies."""

from __future__ import annotations

import json

import numpy as np
import pytest

from experiments.data import lookalikes
from tests.test_find import run


class Row(int):
    """A row standing for what verify.seen makes of an image, in tests that fake the verification: it holds nothing."""

    nbytes = 0


LOOSE = ["--method", "phash", "--threshold", "16", "--grouping", "components", "--quiet"]


@pytest.fixture(scope="module")
def invoices(tmp_path_factory):
    folder = tmp_path_factory.mktemp("invoices")
    original, others = lookalikes.invoice_family(np.random.default_rng([7, 0, 1]))
    original.save(folder / "invoice.png")
    others["other_amount"].save(folder / "invoice-next-month.png")
    rng = np.random.default_rng([7, 1])
    lookalikes.COPIES["jpeg70"](original, rng).save(folder / "invoice-resaved.jpg", quality=95)
    lookalikes.COPIES["half"](original, rng).save(folder / "invoice-half.png")
    return folder


def groups_of(folder, tmp_path, *extra) -> list[set[str]]:
    out = tmp_path / f"groups{len(extra)}.json"
    cache = ["--cache", str(tmp_path / "cache.sqlite")]
    code, _, err = run("find", str(folder), *LOOSE, *cache, "--json", str(out), *extra)
    assert code in (0, 1), err
    return [{m["path"].rsplit("/", 1)[-1] for m in g["members"]} for g in json.loads(out.read_text())["groups"]]


def test_a_look_alike_invoice_grouped_by_its_hash_is_left_out_by_verification(invoices, tmp_path):
    without = groups_of(invoices, tmp_path)
    assert any("invoice-next-month.png" in g and "invoice.png" in g for g in without), without  # the hash's mistake
    checked = groups_of(invoices, tmp_path, "--verify")
    assert {"invoice.png", "invoice-resaved.jpg", "invoice-half.png"} in checked, checked
    assert not any("invoice-next-month.png" in g for g in checked), checked


TWO_STAGE = ["--method", "phash", "--threshold", "20", "--normalise", "none", "--grouping", "components", "--verify"]


@pytest.fixture(scope="module")
def burst(tmp_path_factory):
    """One photo saved 15 ways (JPEG 50-95 at full, 3/4 and half size) among 8 other photos."""
    from PIL import Image

    from experiments.data.copies import burst as burst_rows
    from experiments.data.embedded import ensure_embedded
    from experiments.paths import REPO_ROOT

    embedded = REPO_ROOT / "data" / "embedded"
    ensure_embedded(embedded)
    folder = tmp_path_factory.mktemp("burst")
    originals = sorted(p / "0_original.png" for p in embedded.iterdir() if (p / "0_original.png").is_file())
    with Image.open(originals[0]) as photo:
        numbers = iter(range(15))
        shots = burst_rows(photo.convert("RGB"), 15, 0, lambda suffix: f"shot{next(numbers):02d}.{suffix}")
    for name, _, _, data, _, _ in shots:
        (folder / name).write_bytes(data)
    for k, other in enumerate(originals[1:]):
        (folder / f"other{k}.png").write_bytes(other.read_bytes())
    return folder


def test_a_burst_of_15_is_one_group_without_the_folder_background(burst, tmp_path):
    """A burst is its own background: scored less it (--views, the calibrated one-stage rule), its shots do not
    stand out from one another and are not all grouped; the two stages (loose candidates, no background,
    verified), with phash's candidates or the default's, group all 15 and nothing else."""
    out = tmp_path / "two-stage.json"
    code, _, err = run("find", str(burst), *TWO_STAGE, "--cache", str(tmp_path / "c"), "--quiet", "--json", str(out))
    assert code == 1, err
    groups = [{m["path"].rsplit("/", 1)[-1] for m in g["members"]} for g in json.loads(out.read_text())["groups"]]
    assert groups == [{f"shot{k:02d}.jpg" for k in range(15)}], groups
    out = tmp_path / "default.json"  # the default: the two stages, with distilled SSCD's candidates
    run("find", str(burst), "--cache", str(tmp_path / "c"), "--quiet", "--json", str(out))
    groups = [{m["path"].rsplit("/", 1)[-1] for m in g["members"]} for g in json.loads(out.read_text())["groups"]]
    assert groups == [{f"shot{k:02d}.jpg" for k in range(15)}], groups
    out = tmp_path / "views.json"  # --views, the calibrated one-stage rule, scores less the folder background
    run("find", str(burst), "--views", "--cache", str(tmp_path / "c"), "--quiet", "--json", str(out))
    sizes = [len(g["members"]) for g in json.loads(out.read_text())["groups"]]
    assert max(sizes, default=0) < 15, sizes  # the background's failure this test guards against


def test_each_image_is_prepared_for_verification_once_however_many_pairs_it_is_in(burst, tmp_path, monkeypatch):
    import dupbench.verify as verification

    made = []
    real = verification.seen

    def counting(image, *kept):
        made.append(str(image))
        return real(image, *kept)

    monkeypatch.setattr(verification, "seen", counting)
    code, _, err = run("find", str(burst), *TWO_STAGE, "--cache", str(tmp_path / "c"), "--quiet", "--workers", "1")
    assert code == 1, err
    assert len(made) == len(set(made)) and len(made) >= 15  # 105 pairs inside the burst, 15 images prepared


def test_the_pairs_order_keeps_their_images_held():
    """Candidates of a ring of 300 images (each with its 4 nearest along it) under random numbers: in
    held_order, 16 held images make each image's keypoints once; sorted by number they are made again
    and again. Every pair is verified once either way."""
    import collections

    from dupbench.finder.verified import held_order

    label = np.random.default_rng(3).permutation(300)
    pairs = {tuple(sorted((int(label[i]), int(label[(i + d) % 300])))) for i in range(300) for d in (1, 2)}

    def made(order) -> int:
        held, count = collections.OrderedDict(), 0
        for pair in order:
            for image in pair:
                if image in held:
                    held.move_to_end(image)
                else:
                    count += 1
                    held[image] = True
                    if len(held) > 16:
                        held.popitem(last=False)
        return count

    ordered = held_order(pairs)
    assert sorted(ordered) == sorted(pairs)
    assert made(ordered) <= 300 + 2 and made(sorted(pairs)) > 600


@pytest.mark.parametrize("workers", [1, 2])
def test_pairs_already_joined_are_not_verified(workers):
    """Two sets of 6 copies (every pair a candidate, 30 pairs) and a look-alike refused against them: the
    groups are the links' components, so once verified links join two images their own pair is not
    verified; the groups are those of verifying every pair."""
    import itertools
    import threading

    from dupbench.finder.verified import links
    from dupbench.grouping import components

    truth = {**dict.fromkeys(range(6), "a"), **dict.fromkeys(range(6, 12), "b"), 12: "look-alike"}
    pairs = [p for p in itertools.combinations(range(13), 2) if truth[p[0]] == truth[p[1]] or 12 in p]
    asked, lock = [], threading.Lock()

    def copy(pair):
        with lock:
            asked.append(pair)
        return truth[pair[0]] == truth[pair[1]]

    found = links(pairs, copy, workers)
    every = [(a, b, 1.0) for a, b in pairs if truth[a] == truth[b]]
    assert sorted(map(sorted, components(13, found))) == sorted(map(sorted, components(13, every)))
    assert len(asked) == len(set(asked)) <= 12 + 2 * 2 * workers + 12  # 10 joining links, the window, 12 refused
    assert {p for p in pairs if 12 in p} <= set(asked)  # a refused pair joins nothing: every one is asked


def test_an_image_whose_nearest_are_all_refused_is_verified_against_further_ones(monkeypatch):
    """A captioned copy has every page of its template nearer than its original (ranked 10th here): the
    first VERIFY_NEIGHBOURS are refused, so it looks up to VERIFY_WIDENED further and joins its original;
    an image already linked by its first candidates does not look further."""
    from types import SimpleNamespace

    import numpy as np

    import dupbench.verify as verification
    from dupbench.finder import verified as stage

    pages, original, captioned, resaved, aside = list(range(1, 11)), 0, 11, 12, 13
    n = 14
    order = {
        captioned: [*pages[:9], original, pages[9], resaved],  # its original 10th
        original: [resaved, *pages, captioned],
        resaved: [original, *pages[:7], aside],  # `aside` 9th, nobody else's neighbour
        **{p: [q for q in range(13) if q != p] for p in pages},
    }
    indices = np.full((n, 32), -1)
    for r, others in order.items():
        indices[r, : len(others)] = others
    same = {original, captioned, resaved}
    asked = []

    def verify(a, b):
        asked.append(tuple(sorted((a, b))))
        return SimpleNamespace(copy=a in same and b in same)

    monkeypatch.setattr(verification, "seen", lambda path, *kept: Row(path))
    monkeypatch.setattr(verification, "verify", verify)
    photos = [SimpleNamespace(path=r, width=0, height=0) for r in range(n)]  # no size known: no glance
    groups = stage.verified([list(range(n))], SimpleNamespace(indices=indices), photos, list(range(n)), 1)
    assert sorted(map(sorted, (g for g in groups if len(g) > 1))) == [[original, captioned, resaved]]
    assert (original, captioned) in asked
    # the re-saved copy, linked by its first candidate, never asks about its 9th neighbour
    assert not [pair for pair in asked if aside in pair]


def test_an_image_still_alone_is_verified_against_the_nearest_verified_groups(monkeypatch):
    """A page shown in a window and captured has its original beyond its VERIFY_WIDENED nearest (here not
    among them at all), but the group its original and the original's re-saved copy verified is the nearest
    group to it: it is verified against that group's nearest member and joins it. Further groups than
    VERIFY_GROUPS are not asked about, and one pair is asked a group."""
    from types import SimpleNamespace

    import numpy as np

    import dupbench.verify as verification
    from dupbench.finder import verified as stage

    monkeypatch.setattr(stage, "VERIFY_GROUPS", 2)
    # Rows 0-9: five verified pairs (2k, 2k+1); 10: the window capture of 0; 11-20: other pages, each alone.
    n, window = 21, 10
    pages = list(range(11, 21))
    indices = np.full((n, 32), -1)
    for k in range(5):
        indices[2 * k, 0], indices[2 * k + 1, 0] = 2 * k + 1, 2 * k
    for r in [window, *pages]:
        indices[r, : len(pages) - 1] = [p for p in pages if p != r][: len(pages) - 1]
    position = np.arange(n, dtype=float)

    def closeness(rows, others):  # the window nearest to group 0's member 1, then to group 1; pages far
        near = {window: {1: 0.9, 0: 0.8, 2: 0.7, 3: 0.6}}
        return np.array([[near.get(r, {}).get(s, -abs(position[r] - position[s])) for s in others] for r in rows])

    same = [{0, 1, window}, {2, 3}, {4, 5}, {6, 7}, {8, 9}]
    asked = []

    def verify(a, b):
        asked.append(tuple(sorted((a, b))))
        return SimpleNamespace(copy=any(a in s and b in s for s in same))

    monkeypatch.setattr(verification, "seen", lambda path, *kept: Row(path))
    monkeypatch.setattr(verification, "verify", verify)
    photos = [SimpleNamespace(path=r, width=0, height=0) for r in range(n)]  # no size known: no glance
    near = SimpleNamespace(indices=indices)
    without = stage.verified([list(range(n))], near, photos, list(range(n)), 1)
    assert [0, 1] in without and not [g for g in without if window in g]
    asked.clear()
    groups = stage.verified([list(range(n))], near, photos, list(range(n)), 1, closeness)
    assert sorted(map(sorted, groups)) == [[0, 1, window], [2, 3], [4, 5], [6, 7], [8, 9]]
    assert (1, window) in asked and (0, window) not in asked  # the group's nearest member, one pair a group
    window_pairs = sorted(p for p in asked if window in p and not set(p) & set(pages))
    assert window_pairs == [(1, window), (2, window)]  # the VERIFY_GROUPS nearest groups, by their nearest member
    # a page alone asks only the VERIFY_GROUPS groups nearest to it, one member each
    asked_by_page = [min(p) for p in asked if 12 in p and min(p) < 10]
    assert len(asked_by_page) == len({r // 2 for r in asked_by_page}) == 2


@pytest.mark.parametrize("direction", ["distance", "similarity"])
def test_closeness_is_higher_for_the_nearer_image_whichever_the_methods_direction(direction):
    """find.closeness ranks the nearest groups: higher must be nearer for a distance (a hash) as for a
    similarity (a descriptor's cosine), or an image alone would be verified against the farthest groups."""
    import numpy as np

    from dupbench.finder.find import closeness
    from dupbench.methods.base import Method

    class OneNumber(Method):
        name = "one number"

        def score_matrix(self, A, B, same=False):
            apart = np.abs(A[:, None, 0] - B[None, :, 0])
            return apart if self.direction == "distance" else -apart

    method = OneNumber()
    method.direction = direction
    prepared = np.array([[0.0], [0.1], [5.0], [0.05]])
    near = closeness(method, prepared)([0, 2], [1, 2, 3])
    assert near.shape == (2, 3)
    assert near[0, 2] > near[0, 0] > near[0, 1]  # row 0: row 3 (0.05 away), then row 1, then row 2
    assert near[1, 1] > near[1, 0]  # row 2 is itself nearest


def test_the_default_is_the_two_stages_the_benchmarks_measure():
    """`dupbench find` with no rule option is issue 39's two stages (with or without --verify): the candidate rule
    the benchmarks run by name (catalog.TWO_STAGES), verified, not the calibrated rule with its folder background,
    which --views gives; any rule option given keeps choose()'s, verified only with --verify."""
    from dupbench.errors import DupbenchError
    from dupbench.finder.recommend import CANDIDATE_RULE, TWO_STAGES, choose, choose_for
    from dupbench.methods.registry import unavailable
    from experiments.peers.catalog import TWO_STAGES as BENCHMARKED

    method, threshold = TWO_STAGES[0]
    if unavailable(method):
        pytest.skip(unavailable(method))
    named = dict(zip(BENCHMARKED[0:-1:2], BENCHMARKED[1:-1:2]))
    assert BENCHMARKED[-1] == "--verify"
    grouping, normalise = CANDIDATE_RULE
    assert named == {"--method": method, "--threshold": threshold, "--grouping": grouping, "--normalise": normalise}
    for verify in (False, True):
        alone = choose_for(None, "calibrated", None, None, verify)
        assert (alone.name, alone.threshold, alone.rule.grouping, alone.rule.normalise, alone.verify) == (
            method,
            float(threshold),
            grouping,
            normalise,
            True,
        )
    views = choose_for(None, "calibrated", None, None, False, views=True)
    assert views.rule == choose(None).rule != alone.rule and not views.verify
    for given in (("phash", "calibrated", None, None, True), (None, "calibrated", None, None, True)):
        with pytest.raises(DupbenchError, match="^--views is the calibrated one-stage rule"):
            choose_for(*given, views=True)
    assert choose_for("phash", "calibrated", None, None, True).rule == choose("phash").rule
    assert choose_for("phash", "calibrated", None, None, True).verify
    assert not choose_for("phash", "calibrated", None, None, False).verify
    assert choose_for(None, "0.6", None, "none", True).threshold == 0.6


def test_the_default_gives_way_to_pdq_candidates_where_sscds_model_is_missing(monkeypatch):
    """Python 3.11, where pip leaves the SSCD models' package out: still two stages, PDQ's candidates, and why."""
    from dupbench.finder import recommend
    from dupbench.methods import registry

    first, (stand_in, threshold) = recommend.TWO_STAGES[0][0], recommend.TWO_STAGES[1]
    real = registry.unavailable
    monkeypatch.setattr(recommend, "unavailable", lambda name: "no model here" if name == first else real(name))
    choice = recommend.two_stages()
    assert (choice.name, choice.threshold, choice.verify) == (stand_in, float(threshold), True)
    assert f"{stand_in} in place of the default's {first}: no model here" in choice.threshold_source


def test_the_default_groups_an_invoices_copies_and_leaves_its_look_alike_out(invoices, tmp_path):
    """No option given: a re-saved and a half-size copy of an invoice are one group, and the same invoice with
    another amount (a look-alike: distilled SSCD's candidate) is in none."""
    out = tmp_path / "default.json"
    code, _, err = run("find", str(invoices), "--cache", str(tmp_path / "c"), "--quiet", "--json", str(out))
    assert code == 1, err
    answer = json.loads(out.read_text())
    groups = [{m["path"].rsplit("/", 1)[-1] for m in g["members"]} for g in answer["groups"]]
    assert groups == [{"invoice.png", "invoice-resaved.jpg", "invoice-half.png"}], groups
    assert answer["verified"]


def test_inner_frames_find_the_page_a_window_shows_and_none_in_the_page_itself(invoices):
    """A page shown in a window on a desktop (experiments/data/generated.py's screenshot): its frames are the
    window and, inside it, the page; the page alone has none."""
    from PIL import Image

    from dupbench.inner_frames import inner_frames
    from dupbench.verify import luminance
    from experiments.data.generated import screenshot

    page = Image.open(invoices / "invoice.png").convert("RGB")
    capture, _ = screenshot(page, np.random.default_rng(3))
    frames = inner_frames(luminance(np.asarray(capture)))
    assert len(frames) == 2 and frames[0] != frames[1]
    scale = 0.6 if capture.width < page.width * 0.7 else 0.75
    # the page sits at (62, 74) on the desktop (60 + the window's border, 40 + its bar and border), shown at `scale`
    shown = (62, 74, 62 + round(page.width * scale), 74 + round(page.height * scale))
    left, top, right, bottom = frames[-1]
    assert shown[0] <= left and shown[1] <= top and right <= shown[2] and bottom <= shown[3]
    covered = (right - left) * (bottom - top) / ((shown[2] - shown[0]) * (shown[3] - shown[1]))
    assert covered > 0.9, covered
    assert inner_frames(luminance(np.asarray(page))) == []


def test_an_image_still_alone_is_verified_against_what_its_frame_shows_nearest(monkeypatch):
    """A capture whose near group does not hold its original: the rows nearest to what its frame shows are
    verified with it, from the whole folder; only images still alone are looked inside."""
    from types import SimpleNamespace

    import dupbench.verify as verification
    from dupbench.finder import verified as stage

    # Rows 0-1: a page and its re-saved copy (one near group); 2: the page captured in a window, in a near group
    # of its own with 3 (another page it is not a copy of).
    indices = np.full((4, 32), -1)
    indices[0, 0], indices[1, 0], indices[2, 0], indices[3, 0] = 1, 0, 3, 2
    same = [{0, 1, 2}]
    asked, looked = [], []

    def verify(a, b):
        asked.append(tuple(sorted((a, b))))
        return SimpleNamespace(copy=any(a in s and b in s for s in same))

    def inside(rows):
        looked.extend(rows)
        return {2: [2, 0]} if 2 in rows else {}

    monkeypatch.setattr(verification, "seen", lambda path, *kept: Row(path))
    monkeypatch.setattr(verification, "verify", verify)
    photos = [SimpleNamespace(path=r, width=0, height=0) for r in range(4)]  # no size known: no glance
    near = SimpleNamespace(indices=indices)
    without = stage.verified([[0, 1], [2, 3]], near, photos, list(range(4)), 1)
    assert sorted(map(sorted, without)) == [[0, 1]]
    groups = stage.verified([[0, 1], [2, 3]], near, photos, list(range(4)), 1, inside=inside)
    assert sorted(map(sorted, groups)) == [[0, 1, 2]]
    assert sorted(looked) == [2, 3] and (0, 2) in asked and (2, 2) not in asked


def test_looking_inside_finds_a_captured_pages_original(invoices, monkeypatch):
    """find.looking_inside describes a capture's frames by the run's method and names pages among the nearest
    rows, not the capture itself; an image with no frame names none. (That the frame, not the whole capture,
    is what ranks the original first among many pages of one style is the kinds benchmark's measure:
    experiments/tools/kinds_copies.py, docs/verify.md.)"""
    from PIL import Image

    from dupbench.finder import find
    from dupbench.finder.find import Photo, looking_inside
    from dupbench.finder.recommend import choose
    from dupbench.images.decode import decode_opened
    from experiments.data.generated import screenshot

    monkeypatch.setattr(find, "VERIFY_NEIGHBOURS", 1)  # the nearest row to the frame, and one more in case it is itself
    choice = choose("phash", "8")
    names = ["invoice.png", "invoice-next-month.png", "invoice-half.png"]
    images = [Image.open(invoices / name).convert("RGB") for name in names]
    capture, _ = screenshot(images[0], np.random.default_rng(3))
    capture_path = invoices.parent / "capture.png"
    capture.save(capture_path)
    paths = [invoices / name for name in names] + [capture_path]
    prepared = choice.method.prepare_many([decode_opened(Image.open(p), choice.decode) for p in paths])
    photos = [Photo(path=p, root=invoices, size=0, stamp="") for p in paths]
    nearest = looking_inside(choice, prepared, photos, list(range(len(paths))), 1)([0, 3])
    assert nearest[3] and set(nearest[3]) <= {0, 1, 2}, nearest  # pages, the capture's frame is one
    assert 0 not in nearest  # the page itself has no frame


def test_images_are_held_the_last_count_and_more_under_a_budget_of_bytes():
    """The verification holds the last VERIFY_HELD images it used, and more while they hold under
    VERIFY_HELD_BYTES: many small images, never fewer large ones than before; one used again while held is
    not made again."""
    from types import SimpleNamespace

    from dupbench.finder.verified import Held

    made = []

    def make(key):
        made.append(key)
        return SimpleNamespace(nbytes=key[1])

    held = Held(make, count=1, budget=100)
    for key in [("a", 40), ("b", 40), ("a", 40), ("c", 40)]:  # c pushes b out (a was used after it)
        held(key)
    held(("a", 40))
    assert made == [("a", 40), ("b", 40), ("c", 40)]
    held(("b", 40))
    assert made[-1] == ("b", 40)  # b was let go
    smalls = Held(make, count=2, budget=100)
    for k in range(10):
        smalls((k, 10))
    made.clear()
    for k in range(10):
        smalls((k, 10))
    assert made == []  # ten images of 10 bytes all held, over the count
    large = Held(make, count=2, budget=100)
    for _ in range(2):
        for key in [("huge", 500), ("vast", 500)]:
            large(key)
    assert made == [("huge", 500), ("vast", 500)]  # the last `count` held, however large


def test_two_photos_of_one_size_are_refused_at_a_glance_without_being_read_whole(tmp_path, monkeypatch):
    """The verification's speed on photos (ukbench800: 1,005 of 1,008 candidate pairs are two photos of one size
    that differ all over): such a pair is refused from the two JPEGs' reduced decodes; a copy is still read."""
    from pathlib import Path
    from types import SimpleNamespace

    import skimage.data
    from PIL import Image

    import dupbench.verify as verification
    from dupbench.finder.verified import pair_verifier

    read = []
    real = verification.seen
    monkeypatch.setattr(verification, "seen", lambda image, *kept: read.append(Path(image).name) or real(image, *kept))
    astronaut = Image.fromarray(skimage.data.astronaut()).resize((640, 480))
    astronaut.save(tmp_path / "astronaut.jpg", quality=90)
    Image.fromarray(skimage.data.coffee()).resize((640, 480)).save(tmp_path / "coffee.jpg", quality=90)
    astronaut.save(tmp_path / "astronaut-resaved.jpg", quality=60)
    names = ["astronaut.jpg", "coffee.jpg", "astronaut-resaved.jpg"]
    photos = [SimpleNamespace(path=tmp_path / name, width=640, height=480) for name in names]
    copy = pair_verifier(photos, [0, 1, 2])
    assert not copy((0, 1)) and read == []
    assert copy((0, 2)) and sorted(read) == ["astronaut-resaved.jpg", "astronaut.jpg"]
