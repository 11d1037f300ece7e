"""Is one image a copy of the other, or a look-alike? The verification stage of issue 39.

A copy keeps the other's content under one geometric transform: another encoding, size, a border
crop, the image shown inside a window and captured, grayscale, a caption drawn on it. A look-alike
(another invoice of the same template, another settings screen differing in one toggle, a chart with
one point moved) aligns just as well, and differs in a detail that no global similarity sees. So:

0. whole frames: two images of one aspect are first compared as they stand, one resized onto the
   other (not refined by ECC: a resize registers them exactly; on the person's folder of
   experiments/tools/copies_bench.py ECC changed none of 4,512 such verdicts). Re-saves, conversions,
   resizes, grayscale copies and captions are decided there; so are look-alikes of one template, whose
   differing boxes are few once the frames are registered (at most REGISTERED_SHARE). Two frames of one
   size compare each one's blurred frame (Seen.frame), made once however many pairs it is in. Only a pair
   that differs all over (a crop, another product, another photo, another page) goes on to the keypoints,
   which cost ~40 ms of CPU an image where this costs ~3 ms a pair; when they align it as step 0 did
   (SAME_FRAME: another page of the template), step 0's verdict stands. Two frames of one size that
   differ all over are refused there (ONE_SIZE), unless one is the other turned in its pixels (turned);
1. geometry: SIFT keypoints of both images (luminance, longest side FEATURE_SIZE), matched by
   Lowe's ratio test, one similarity transform (scale, rotation, shift) fitted by RANSAC. A copy
   needs MIN_INLIERS inliers, one image (nearly) inside the other (CONTAINED: a crop lies inside
   its original, an original inside its window capture) and the other not a small piece of it
   (OVERLAP). With too few inliers, a crop kept at its own scale is placed inside the other by
   normalised correlation (cut_in_place: a sparse chart's crop has few keypoints);
2. pixels: the larger image resampled onto the smaller one's grid by that transform, both in
   luminance (grayscale copies pass), blurred by BLUR_SIGMA (resampling and JPEG noise at edges),
   their absolute difference averaged over BOX x BOX boxes, the alignment refined by ECC where few boxes
   differ (REFINED_SHARE: a pixel out of register, not another page). A copy's largest box stays at or
   under MAX_BOX_DIFF; a changed digit, toggle or point makes a box well above it;
3. an overlay: a caption drawn on a copy is a local difference too. It is allowed when it covers
   at least OVERLAY_SHARE of the compared boxes, nearly all (OVERLAY_IN_BAND) in one horizontal
   band of BAND of the height: a line of text drawn to be read at the image's size, where a
   look-alike's changed field, toggle or point covers a few boxes and another page differs all
   over;
4. a mark added: a watermark, a stamp or a note drawn where the image was blank. It is allowed when
   the differing boxes lie in one small region (ADDITION_AREA) and nearly all of them (ADDED_ON_BLANK)
   are blank in one image, the same one, and written in the other: a changed amount, name or date has
   writing under it in both, a moved point or a flipped toggle leaves blank ground on either side.
   docs/verify.md gives the measurements behind each constant and what it misses (a watermark on a
   photo, whose ground is not blank; a field filled in on one copy of a blank form would pass).

The constants were chosen on one half of experiments/data/lookalikes.py's pairs and reported on the
other half (docs/verify.md).
"""

from __future__ import annotations

import collections
import dataclasses
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dupbench.errors import DupbenchError
from dupbench.images.read import read_rgb

FEATURE_SIZE = 512  # longest side for keypoints: enough for a page's text lines, ~20 ms a pair
MAX_FEATURES = 1500
RATIO = 0.8  # Lowe's ratio test
RANSAC_PX = 3.0  # at FEATURE_SIZE
MIN_INLIERS = 12
CONTAINED = 0.85  # the share of one image that must lie inside the other
OVERLAP = 0.25  # the share of the other image it must cover (not a logo or a detail of it)
# The luminance held of an image, longest side: twice the comparison's, so that a 20 % crop of a 12 MP photo is
# still compared at COMPARE_SIZE, and a finder holding 64 such photos holds ~270 MiB of them, not ~770.
HELD_SIZE = 2048
COMPARE_SIZE = 1024  # the pixel comparison's longest side, at most the smaller image's own
ECC_SIZE = 256  # the alignment refined by ECC at this longest side (0: not refined), ~20 ms
ECC_ITERATIONS = 50
ECC_EPS = 1e-5  # converged: 1e-6 gave the same refinements at up to 4 times the time (docs/verify.md)
BLUR_SIGMA = 1.0
BOX = 4
MAX_BOX_DIFF = 16.0
OVERLAY_SHARE = 0.015
BAND = 0.15
OVERLAY_IN_BAND = 0.9
# A mark added on blank ground (step 4): a box is blank where its image's luminance, blurred, varies by less than
# BLANK_STD over the BOX x BOX boxes around it. A watermark on a page, a chart, a screen or a product on white was
# blank on one side in 0.81-1.00 of its differing boxes and written on the other side in none; every look-alike
# in at most 0.61 (a moved point: 0.15-0.61, on both sides), a changed amount or date in none (the choose half,
# docs/verify.md).
BLANK_STD = 6.0
ADDED_ON_BLANK = 0.75
BLANK_ON_BOTH_SIDES = 0.02  # of the differing boxes, blank in the other image: a change, not an addition
# One mark, not content spread over the image: the differing boxes' bounding box at most this share of the
# compared boxes (a watermark's 0.9-3.8 %; another invoice of the template differs over 37 %).
ADDITION_AREA = 0.10
ASPECT_TOLERANCE = 0.01  # two frames of one aspect: compared as they stand first
# The share of boxes that may differ in two whole frames still taken as registered (decided there, not by
# keypoints): a look-alike of one template differed in at most 1.7 % of its boxes, a crop compared as if
# whole in 6.6 % or more (the choose half, docs/verify.md).
REGISTERED_SHARE = 0.03
# Two transforms this close (their corners within this share of the longest side) register a pair alike: the
# keypoints' fit is within ~0.1 % of a resize, a 5 % border crop moves a corner by 2.5 % or more.
SAME_FRAME = 0.01
# The share of boxes that may differ in a pair aligned by its keypoints for ECC still to refine it. A copy
# the refinement turned from refused to passed differed in at most 1.9 % of its boxes before it; the other
# pages of a template that the keypoints align differ in 5-12 % (a median 7.9 %), and ECC at ~30 ms a pair was
# a third of all verification's CPU on them (the person's folder of experiments/tools/copies_bench.py).
REFINED_SHARE = 0.03
EDGE_PX = 3  # pixels along the overlap's edge left out of the comparison (interpolation at the border)
# A crop kept at its own scale whose keypoints are too few (a sparse chart cut by 20 %: 7 inliers) is placed by
# normalised correlation: over the whole larger image at PLACE_SIZE, then near there at its held scale with the
# smaller's middle, at most PLACE_PATCH square; placed where the first correlation reaches PLACED.
PLACE_SIZE = 256
PLACE_PATCH = 256
PLACED = 0.8


@dataclass(frozen=True)
class Verdict:
    copy: bool
    inliers: int
    transform: np.ndarray | None  # 2x3, a's pixel coordinates to b's
    largest_box_diff: float | None
    reason: str
    contained: float | None = None  # the larger of the shares of a inside b and of b inside a
    differing_boxes: int = 0  # boxes above MAX_BOX_DIFF
    aligned_by: str = "keypoints"  # or "whole frames" (step 0)
    registered: bool = True  # step 0: whether the whole frames' verdict stands without the keypoints


def as_rgb(image) -> np.ndarray:
    """A decoded RGB array (H x W x 3, uint8) from a path or an array (gray, RGB or RGBA)."""
    if isinstance(image, str | Path):
        # dupbench's own reader: the formats the finder reads (HEIC, AVIF through their plugins, which a
        # bare Image.open did not know: a HEIC copy met in --verify could not be verified), EXIF turns.
        return np.asarray(read_rgb(Path(image)))
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise DupbenchError(f"verify: expected an H x W x 3 image, got an array of shape {array.shape}")
    return np.ascontiguousarray(array[:, :, :3], dtype=np.uint8)


def luminance(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def resizing(before: tuple[int, ...], after: tuple[int, ...]) -> np.ndarray:
    """The 3x3 matrix from an image's pixel coordinates (shape `before`) to its resized copy's (shape
    `after`), pixel centres matched as cv2.resize matches them: a half-pixel off at every resize puts
    a page's text lines out of register by more than JPEG does."""
    fx, fy = after[1] / before[1], after[0] / before[0]
    return np.array([[fx, 0, 0.5 * fx - 0.5], [0, fy, 0.5 * fy - 0.5], [0, 0, 1.0]])


def shrunk(gray: np.ndarray, longest: int) -> tuple[np.ndarray, np.ndarray]:
    """The image with its longest side at most `longest`, and the matrix to its pixels."""
    import cv2

    factor = longest / max(gray.shape)
    if factor >= 1.0:
        return gray, np.eye(3)
    size = (max(1, round(gray.shape[1] * factor)), max(1, round(gray.shape[0] * factor)))
    small = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    return small, resizing(gray.shape, small.shape)


_SIFT = threading.local()  # one detector per thread: the finder verifies pairs on every core


def keypoints(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, float]:
    """Keypoint positions (at FEATURE_SIZE), their descriptors and the matrix from full size to them."""
    import cv2

    if getattr(_SIFT, "detector", None) is None:
        _SIFT.detector = cv2.SIFT_create(nfeatures=MAX_FEATURES)
    small, to_small = shrunk(gray, FEATURE_SIZE)
    found, descriptors = _SIFT.detector.detectAndCompute(small, None)
    return np.float32([k.pt for k in found]).reshape(-1, 2), descriptors, to_small


def similarity(a: tuple, b: tuple) -> tuple[np.ndarray | None, int]:
    """One similarity transform from a's keypoints to b's (full-size pixels) and its inlier count."""
    import cv2

    (pa, da, fa), (pb, db, fb) = a, b
    if da is None or db is None or len(da) < 2 or len(db) < 2:
        return None, 0
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(da, db, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO * p[1].distance]
    if len(good) < max(3, MIN_INLIERS):
        return None, len(good)
    src = pa[[m.queryIdx for m in good]]
    dst = pb[[m.trainIdx for m in good]]
    fitted, mask = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX, maxIters=2000, confidence=0.999
    )
    if fitted is None:
        return None, 0
    # From a's full-size pixels to a's feature pixels, through the fit, back to b's full size.
    full = np.linalg.inv(fb) @ np.vstack([fitted, [0, 0, 1]]) @ fa
    return full[:2], int(mask.sum())


def inverse(transform: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.invertAffineTransform(transform)


def share_inside(transform: np.ndarray, size_from: tuple[int, int], size_to: tuple[int, int]) -> float:
    """The share of the first image's area (w, h) that the transform puts inside the second."""
    w, h = size_from
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=float)
    inside = clipped(corners @ transform[:, :2].T + transform[:, 2], *size_to)
    scale = abs(np.linalg.det(transform[:, :2]))
    return float(area(inside) / (scale * w * h)) if scale > 0 and len(inside) >= 3 else 0.0


def clipped(polygon: np.ndarray, width: float, height: float) -> np.ndarray:
    """A convex polygon cut to the rectangle (0, 0)-(width, height), edge by edge (Sutherland-Hodgman).
    cv2.intersectConvexConvex gave a quarter of the area for two identical rectangles (edges on edges):
    an identical copy of a settings screen was refused."""
    for axis, bound, keep_below in ((0, 0.0, False), (0, width, True), (1, 0.0, False), (1, height, True)):
        inside = (polygon[:, axis] <= bound) if keep_below else (polygon[:, axis] >= bound)
        out = []
        for k in range(len(polygon)):
            here, before = polygon[k], polygon[k - 1]
            if inside[k] != inside[k - 1]:
                t = (bound - before[axis]) / (here[axis] - before[axis])
                out.append(before + t * (here - before))
            if inside[k]:
                out.append(here)
        polygon = np.array(out, dtype=float).reshape(-1, 2)
        if not len(polygon):
            break
    return polygon


def area(polygon: np.ndarray) -> float:
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def warp(large: np.ndarray, to_large: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The larger image sampled at the smaller one's pixels (3x3 `to_large` from them to its own) and
    the mask of those it covers, less EDGE_PX along the edge."""
    import cv2

    out, flags = (shape[1], shape[0]), cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    warped = cv2.warpAffine(large, to_large[:2], out, flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    ones = np.full(large.shape, 255, np.uint8)
    mask = cv2.warpAffine(ones, to_large[:2], out, flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return warped, cv2.erode(mask, np.ones((2 * EDGE_PX + 1,) * 2, np.uint8)) == 255


def refinement(small: np.ndarray, warped: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A small affine correction (3x3, small's pixels to warped's) found by ECC at ECC_SIZE. Keypoints
    leave a scale error of ~0.1 % and a tenth of a pixel: 1 px at the far side of a page, enough
    to raise a crop's largest box difference from 6 to 34. The identity when ECC fails or wanders."""
    import cv2

    a, to_a = shrunk(small, ECC_SIZE)
    size = (a.shape[1], a.shape[0])
    b = cv2.resize(warped, size, interpolation=cv2.INTER_AREA) if warped.shape != a.shape else warped
    # Shrinking blends the black outside the overlap into its edge: ECC would align that edge (a window's
    # frame) instead of the content, so the mask is eroded again at this size.
    m = cv2.erode(cv2.resize(mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST), np.ones((5, 5), np.uint8))
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, ECC_ITERATIONS, ECC_EPS)
    try:
        _, found = cv2.findTransformECC(a, b, np.eye(2, 3, dtype=np.float32), cv2.MOTION_AFFINE, criteria, m, 1)
    except cv2.error:
        return np.eye(3)
    if np.abs(found[:, :2] - np.eye(2)).max() > 0.02 or np.abs(found[:, 2]).max() > 2:
        return np.eye(3)
    return np.linalg.inv(to_a) @ np.vstack([found, [0, 0, 1]]) @ to_a


def aligned(small: np.ndarray, large: np.ndarray, to_large: np.ndarray) -> tuple:
    """The smaller image (at most COMPARE_SIZE), the larger one resampled onto its grid, the mask of
    the pixels both cover, and the 3x3 transform and larger image that made it. The larger image is
    first shrunk by area to about the smaller's scale: bilinear sampling of a twice larger image
    would alias its text into differences."""
    import cv2

    small, to_small = shrunk(small, COMPARE_SIZE)
    m = np.vstack([to_large, [0, 0, 1]]) @ np.linalg.inv(to_small)  # small's (shrunk) pixels to large's
    scale = float(np.sqrt(abs(np.linalg.det(m[:2, :2]))))
    if scale > 1.25:
        size = (max(1, round(large.shape[1] / scale)), max(1, round(large.shape[0] / scale)))
        shrunk_large = cv2.resize(large, size, interpolation=cv2.INTER_AREA)
        m = resizing(large.shape, shrunk_large.shape) @ m
        large = shrunk_large
    warped, mask = warp(large, m, small.shape)
    return small, warped, mask, m, large


def blurred(gray: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(gray, (0, 0), BLUR_SIGMA) if BLUR_SIGMA > 0 else gray


def box_differences(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None, already_blurred: bool = False) -> np.ndarray:
    """The mean absolute difference of each BOX x BOX box wholly inside the mask (None: the whole
    frame; NaN elsewhere)."""
    import cv2

    if not already_blurred:
        a, b = blurred(a), blurred(b)
    rows, cols = diff_shape = a.shape[0] // BOX, a.shape[1] // BOX
    h, w = rows * BOX, cols * BOX
    # cv2's area resize at a whole factor is the boxes' mean, twice as fast as numpy's reshape and mean.
    diff = cv2.absdiff(a[:h, :w], b[:h, :w]).astype(np.float32)
    boxes = cv2.resize(diff, diff_shape[::-1], interpolation=cv2.INTER_AREA)
    if mask is None:
        return boxes
    inside = cv2.resize(mask[:h, :w].astype(np.float32), diff_shape[::-1], interpolation=cv2.INTER_AREA) > 1 - 1e-3
    return np.where(inside, boxes, np.nan)


def compared(
    small: np.ndarray, warped: np.ndarray, mask: np.ndarray, to_large: np.ndarray, large: np.ndarray, refine: bool
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The box differences of the aligned pair, after ECC's refinement (when `refine`) when it explains
    the pair better (fewer boxes differ, then a lower largest box): the transform stays when ECC drifts.
    By the largest box alone, a drift was kept where a caption's text held the largest at ~255 either
    way, and spread the differences out of the caption's band. With them, the two blurred images
    compared (what step 4 looks under the differing boxes)."""
    pair = blurred(small), blurred(warped)
    boxes = box_differences(*pair, mask, already_blurred=True)
    if not (refine and ECC_SIZE) or np.isnan(boxes).all() or np.nanmax(boxes) <= MAX_BOX_DIFF:
        return boxes, pair  # nothing differs: no refinement can change the verdict
    if misfit(boxes)[0] > REFINED_SHARE * int((~np.isnan(boxes)).sum()):
        return boxes, pair  # differs too widely for a misregistration: another page, which ECC cannot make a copy
    rewarped, remask = warp(large, to_large @ refinement(small, warped, mask), small.shape)
    repair = pair[0], blurred(rewarped)
    refined = box_differences(*repair, remask, already_blurred=True)
    if np.isnan(refined).all() or misfit(refined) >= misfit(boxes):
        return boxes, pair
    return refined, repair


def misfit(boxes: np.ndarray) -> tuple[int, float]:
    return int((np.nan_to_num(boxes, nan=0.0) > MAX_BOX_DIFF).sum()), float(np.nanmax(boxes))


def overlay_like(differing: np.ndarray, valid: np.ndarray) -> bool:
    """Whether the differing boxes look like a caption or a watermark line drawn on a copy: at least
    OVERLAY_SHARE of the compared boxes (drawn to be read at the image's size, where a changed
    field, toggle or point is a few boxes) and OVERLAY_IN_BAND of them in one horizontal band of
    BAND of the compared height (one line of text, where another page differs all over)."""
    count = int(differing.sum())
    if count < OVERLAY_SHARE * int(valid.sum()):
        return False
    rows = np.flatnonzero(valid.any(axis=1))
    per_row = differing.sum(axis=1)[rows[0] : rows[-1] + 1]
    band = max(1, round(BAND * len(per_row)))
    densest = np.convolve(per_row, np.ones(band, dtype=int), mode="valid").max()
    return bool(densest >= OVERLAY_IN_BAND * count)


def blank_boxes(image: np.ndarray, rows: slice, cols: slice) -> np.ndarray:
    """Per BOX x BOX box of a blurred image (box_differences' grid) in `rows` and `cols` (boxes): whether it and
    the boxes around it vary by less than BLANK_STD (a page's paper, a screen's panel, a chart's plot area, a
    product's white). Only that region is filtered (with the neighbours its edge boxes need): a mark's boxes
    are at most ADDITION_AREA of the image, and the whole image's filters were 5 ms a pair of pages."""
    import cv2

    margin = 2  # boxes: the 3 x 3 boxes around an edge box, and the filter's own border
    top, left = max(0, rows.start - margin), max(0, cols.start - margin)
    bottom = min(image.shape[0] // BOX, rows.stop + margin)
    right = min(image.shape[1] // BOX, cols.stop + margin)
    values = image[top * BOX : bottom * BOX, left * BOX : right * BOX].astype(np.float32)
    around = (3 * BOX, 3 * BOX)
    mean, square = cv2.blur(values, around), cv2.blur(values * values, around)
    spread = np.sqrt(np.maximum(square - mean * mean, 0.0))
    per_box = cv2.resize(spread, (right - left, bottom - top), interpolation=cv2.INTER_AREA)
    return per_box[rows.start - top : rows.stop - top, cols.start - left : cols.stop - left] < BLANK_STD


def added_on_blank(differing: np.ndarray, valid: np.ndarray, pair: tuple[np.ndarray, np.ndarray]) -> bool:
    """Whether the differing boxes look like one mark drawn on blank ground (step 4): all within a bounding box
    of at most ADDITION_AREA of the compared boxes, at least ADDED_ON_BLANK of them blank in one image and
    written in the other, at most BLANK_ON_BOTH_SIDES blank in the other and written in the first."""
    rows, cols = np.nonzero(differing)
    if (np.ptp(rows) + 1) * (np.ptp(cols) + 1) > ADDITION_AREA * int(valid.sum()):
        return False
    region = slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1)
    marked = differing[region]
    blank_x, blank_y = (blank_boxes(image, *region)[marked] for image in pair)
    only_x, only_y = float((blank_x & ~blank_y).mean()), float((blank_y & ~blank_x).mean())
    return max(only_x, only_y) >= ADDED_ON_BLANK and min(only_x, only_y) <= BLANK_ON_BOTH_SIDES


class KeptPoints:
    """Keypoints kept for the last `size` images asked for, longer than their luminance is (a page's
    luminance is ~1 MiB, its keypoints ~0.2 MiB with SIFT's descriptors as the bytes they are): an image
    that falls out of the held luminance and comes back in a later pair needs no new keypoints (~50 ms)."""

    def __init__(self, size: int):
        self.size = size
        self._kept: collections.OrderedDict = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key) -> tuple | None:
        with self._lock:
            if key not in self._kept:
                return None
            self._kept.move_to_end(key)
            positions, descriptors, to_small = self._kept[key]
        return positions, None if descriptors is None else descriptors.astype(np.float32), to_small

    def put(self, key, points: tuple) -> None:
        positions, descriptors, to_small = points
        # SIFT's descriptors are whole numbers 0-255 held as floats: as bytes they are the same, a quarter the size.
        small = None if descriptors is None else descriptors.astype(np.uint8)
        with self._lock:
            self._kept[key] = (positions, small, to_small)
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)


class Seen:
    """What verify needs of one image, made once however many pairs it is in: its luminance, and its
    keypoints when a pair first needs them (most pairs are decided as whole frames, without them), kept
    in `kept` under `key` when given."""

    def __init__(self, gray: np.ndarray, kept: KeptPoints | None = None, key=None, size: tuple[int, ...] | None = None):
        self.gray = gray
        # The decoded size (height, width): two photos over HELD_SIZE are held at one size whenever they are of
        # one aspect, a 10 % border crop of a 12 MP photo as its original.
        self.size = tuple(size or gray.shape[:2])
        self._points: tuple | None = None
        self._frame: np.ndarray | None = None
        self._kept, self._key = kept, key
        self._lock = threading.Lock()  # pairs run on every core: one image's keypoints made once

    @property
    def points(self) -> tuple:
        """Its keypoints: made once, held in `kept` when given (as bytes, ~0.2 MiB; not here as SIFT's floats,
        ~0.8 MiB, which the finder's held images would multiply), else here."""
        with self._lock:
            if self._kept is not None:
                points = self._kept.get(self._key)
                if points is None:
                    points = keypoints(self.gray)
                    self._kept.put(self._key, points)
                return points
            if self._points is None:
                self._points = keypoints(self.gray)
            return self._points

    @property
    def nbytes(self) -> int:
        """What it holds: its luminance, and its frame whether made yet or not (at most COMPARE_SIZE long)."""
        frame = self.gray.nbytes * min(1.0, COMPARE_SIZE / max(self.gray.shape[:2])) ** 2
        return self.gray.nbytes + int(frame)

    @property
    def frame(self) -> np.ndarray:
        """Its luminance at the comparison's size (shrunk by area), blurred: a pair of two frames of one
        size compares these as they stand."""
        with self._lock:
            if self._frame is None:
                self._frame = blurred(shrunk(self.gray, COMPARE_SIZE)[0])
            return self._frame


def seen(image, kept: KeptPoints | None = None, key=None) -> Seen:
    """`image`: a path or an array (as_rgb), its luminance held at most HELD_SIZE long; `kept`: where its
    keypoints are kept under `key`."""
    rgb = as_rgb(image)
    return Seen(shrunk(luminance(rgb), HELD_SIZE)[0], kept, key, rgb.shape[:2])


def verify(a, b) -> Verdict:
    """Whether b is a copy of a (or a of b): see the module's docstring. `a`, `b`: paths, arrays, or
    what seen() made of them."""
    a, b = (x if isinstance(x, Seen) else seen(x) for x in (a, b))
    whole = as_whole_frames(a, b)
    if whole is not None and whole.registered:
        return whole
    if whole is not None and a.size == b.size:
        return turned(a, b) or dataclasses.replace(whole, reason=f"{whole.reason}; {ONE_SIZE}")
    to_b, inliers = similarity(a.points, b.points)
    if to_b is None or inliers < MIN_INLIERS:
        placed = cut_in_place(a, b)
        if placed is not None:  # too few keypoints (a sparse chart's crop): where the smaller lies, at its own scale
            return judged(*boxes_under(a.gray, b.gray, placed), inliers, placed, 1.0, "a crop found in place")
        return Verdict(False, inliers, to_b, None, f"{inliers} keypoints agree on one transform (< {MIN_INLIERS})")
    if whole is not None and moved(to_b, whole.transform, a.gray.shape, b.gray.shape) <= SAME_FRAME:
        # The keypoints register the frames as step 0 did (another page of a template): its comparison,
        # exact under a resize, stands; the pair differs too widely for ECC (REFINED_SHARE) to change it.
        return dataclasses.replace(whole, inliers=inliers, reason=f"{whole.reason}; the keypoints align them so too")
    size_a, size_b = (a.gray.shape[1], a.gray.shape[0]), (b.gray.shape[1], b.gray.shape[0])
    a_in_b = share_inside(to_b, size_a, size_b)
    b_in_a = share_inside(inverse(to_b), size_b, size_a)
    contained = max(a_in_b, b_in_a)
    if contained < CONTAINED or min(a_in_b, b_in_a) < OVERLAP:
        return Verdict(False, inliers, to_b, None,
                       f"neither lies inside the other ({a_in_b:.2f} of a in b, {b_in_a:.2f} of b in a)",
                       contained)  # fmt: skip
    return judged(*boxes_under(a.gray, b.gray, to_b), inliers, to_b, contained, "keypoints")


def cut_in_place(a: Seen, b: Seen) -> np.ndarray | None:
    """The 2x3 transform (a's held pixels to b's) that puts the smaller image where it lies inside the larger at its
    own scale, as a crop keeps its pixels, found by normalised correlation: at PLACE_SIZE over the whole of the
    larger image, then at the larger's held scale near there with the smaller's middle (at most PLACE_PATCH
    square). None when neither fits inside the other, the smaller covers less than OVERLAP of the larger, or
    the correlation is under PLACED. The pixels then decide, as for any alignment."""
    import cv2

    (ha, wa), (hb, wb) = a.size[:2], b.size[:2]
    if (ha, wa) == (hb, wb) or not ((ha <= hb and wa <= wb) or (hb <= ha and wb <= wa)):
        return None
    small, large = (a, b) if ha <= hb and wa <= wb else (b, a)
    if small.size[0] * small.size[1] < OVERLAP * large.size[0] * large.size[1]:
        return None

    def at(image: Seen, factor: float) -> np.ndarray:  # its luminance at `factor` of its decoded size
        size = (max(1, round(image.size[1] * factor)), max(1, round(image.size[0] * factor)))
        if size == image.gray.shape[::-1]:
            return image.gray
        return cv2.resize(image.gray, size, interpolation=cv2.INTER_AREA)

    factor = min(1.0, PLACE_SIZE / max(large.size[:2]))
    coarse = cv2.matchTemplate(at(large, factor), at(small, factor), cv2.TM_CCOEFF_NORMED)
    _, score, _, (x, y) = cv2.minMaxLoc(coarse)
    if score < PLACED:
        return None
    held = large.gray.shape[0] / large.size[0]  # the larger's held pixels per decoded pixel
    shown = at(small, held)  # the smaller at the larger's held scale
    ph, pw = min(PLACE_PATCH, shown.shape[0]), min(PLACE_PATCH, shown.shape[1])
    py, px = (shown.shape[0] - ph) // 2, (shown.shape[1] - pw) // 2
    reach = int(np.ceil(held / factor)) + 2  # the coarse position's uncertainty, in held pixels
    top, left = round(y / factor * held) + py - reach, round(x / factor * held) + px - reach
    y0, x0 = max(0, top), max(0, left)
    window = large.gray[y0 : top + ph + 2 * reach + 1, x0 : left + pw + 2 * reach + 1]
    if window.shape[0] < ph or window.shape[1] < pw:
        return None
    fine = cv2.matchTemplate(window, shown[py : py + ph, px : px + pw], cv2.TM_CCOEFF_NORMED)
    _, _, _, (dx, dy) = cv2.minMaxLoc(fine)
    scale = held / (small.gray.shape[0] / small.size[0])  # the smaller's held pixels to the larger's
    inside = np.array([[scale, 0.0, x0 + dx - px], [0.0, scale, y0 + dy - py]])
    return inside if small is a else inverse(inside)


def moved(one: np.ndarray, other: np.ndarray, shape_a: tuple[int, ...], shape_b: tuple[int, ...]) -> float:
    """How far apart two transforms (a's pixels to b's) put a's corners, as a share of b's longest side."""
    h, w = shape_a[:2]
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=float)
    apart = corners @ (one[:, :2] - other[:, :2]).T + (one[:, 2] - other[:, 2])
    return float(np.abs(apart).max() / max(shape_b[:2]))


def boxes_under(
    gray_a: np.ndarray, gray_b: np.ndarray, to_b: np.ndarray, refine: bool = True
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The box differences of the pair aligned by `to_b` (a's pixels to b's), on the smaller one's grid, and the
    two blurred images compared; `refine`: the alignment refined by ECC where boxes differ."""
    if gray_a.size <= gray_b.size:
        return compared(*aligned(gray_a, gray_b, to_b), refine)
    return compared(*aligned(gray_b, gray_a, inverse(to_b)), refine)


def as_whole_frames(a: Seen, b: Seen) -> Verdict | None:
    """Step 0: the verdict on two frames of one aspect compared as they stand, one resized onto the
    other (`registered` when few boxes differ or they differ as a caption: that verdict stands; the
    keypoints decide the others); None when they are not of one aspect."""
    (ha, wa), (hb, wb) = a.gray.shape[:2], b.gray.shape[:2]
    if abs((wa / ha) / (wb / hb) - 1.0) > ASPECT_TOLERANCE:
        return None
    to_b = resizing(a.gray.shape, b.gray.shape)[:2]
    if a.gray.shape == b.gray.shape:
        # Two frames of one size (most candidates: the pages of a template, the shots of a burst): each one's
        # blurred frame is made once however many pairs it is in, not resampled and blurred in every pair.
        pair = a.frame, b.frame
        boxes = box_differences(*pair, None, already_blurred=True)
    else:
        # Not refined: ECC (~30 ms, half of all verification's CPU when it ran here) changed none of 4,512
        # whole-frame verdicts on the person's folder; a pair it could help differs all over, and the
        # keypoints' path, which refines, decides it.
        boxes, pair = boxes_under(a.gray, b.gray, to_b, refine=False)
    verdict = judged(boxes, pair, 0, to_b, 1.0, "whole frames")
    compared_boxes = int((~np.isnan(boxes)).sum())
    # A copy (nothing differs, or a caption) stands; so does a refusal where few boxes differ.
    registered = compared_boxes > 0 and (verdict.copy or verdict.differing_boxes <= REGISTERED_SHARE * compared_boxes)
    return dataclasses.replace(verdict, registered=registered)


# Two frames of one size that differ all over are not a copy, nor turned copies of one another: the keypoints
# are not asked (on experiments/tools/kinds.py's documents, 840 pages of one style, their matching took 205 of
# verification's 314 s of CPU, and a pair of one size that they align as it stands keeps step 0's verdict). A
# copy of one size in another frame would be a crop or a shift resized back to the original's size: the one copy
# given up (docs/verify.md).
ONE_SIZE = "two frames of one size differ all over: not a copy (the keypoints are not asked)"


def turned(a: Seen, b: Seen) -> Verdict | None:
    """Two frames of one size compared with b turned by 180 degrees (and by 90 and 270 when square): a photo
    turned in its pixels, which the keypoints found before step 0 decided frames of one size. The verdict of the
    first turn whose comparison stands (registered), else None."""
    import cv2

    h, w = a.gray.shape[:2]
    # (how b is turned back onto a, how far b is a turned clockwise)
    turns = [(cv2.ROTATE_180, 180)] + (
        [(cv2.ROTATE_90_COUNTERCLOCKWISE, 90), (cv2.ROTATE_90_CLOCKWISE, 270)] if h == w else []
    )
    for code, degrees in turns:
        pair = a.frame, cv2.rotate(b.frame, code)
        boxes = box_differences(*pair, None, already_blurred=True)
        verdict = judged(boxes, pair, 0, turn_matrix(degrees, w, h), 1.0, f"whole frames turned {degrees} degrees")
        if verdict.copy:
            return verdict
    return None


# A glance: two frames of one size whose small luminances differ all over are refused before either is read
# whole (other photos of one object, ukbench800's candidates: 1,005 of its 1,008 pairs). A JPEG's reduced decode
# (DCT scaling, ~0.5 ms for 640 x 480 where reading it whole and its luminance take ~3 ms) at most
# GLANCE_LONGEST long, blurred, boxed as step 0 boxes. Chosen on the pairs of one size the two stages verified on
# the person's folder of experiments/tools/copies_bench.py: of the 1,118 copies step 0 or turned() passed, at
# most 0.194 of a glance's boxes differ (0.103 of the look-alike folder's 30); on ukbench800, 860 of the 1,005
# refusals have 0.4 or more (docs/verify.md).
GLANCE_SIDE = 96
GLANCE_LONGEST = 160
GLANCE_SHARE = 0.4


def glance(path: str | Path) -> np.ndarray | None:
    """A JPEG's glance (above); None for any other format, which has no such cheap decode: its pairs are read
    whole."""
    from dupbench.images import fastjpeg
    from dupbench.images.decode import Decode, decode

    data = Path(path).read_bytes()
    if fastjpeg.header(data) is None:
        return None
    rgb = np.asarray(decode(data, Decode(side=GLANCE_SIDE)).convert("RGB"))
    return blurred(shrunk(luminance(rgb), GLANCE_LONGEST)[0])


def differ_all_over(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two glances of one shape differ in at least GLANCE_SHARE of their boxes as they stand and as
    turned() turns b (180 degrees; 90 and 270 when square): then step 0 and turned() refuse the pair."""
    import cv2

    turns = [b, cv2.rotate(b, cv2.ROTATE_180)]
    if a.shape[0] == a.shape[1]:
        turns += [cv2.rotate(b, cv2.ROTATE_90_CLOCKWISE), cv2.rotate(b, cv2.ROTATE_90_COUNTERCLOCKWISE)]
    shares = (np.mean(box_differences(a, turn, None, already_blurred=True) > MAX_BOX_DIFF) for turn in turns)
    return all(share >= GLANCE_SHARE for share in shares)


def turn_matrix(degrees: int, w: int, h: int) -> np.ndarray:
    """The 2x3 matrix from a's pixels to b's where b is a turned by `degrees` clockwise (pixel centres)."""
    return {
        180: np.array([[-1.0, 0, w - 1], [0, -1.0, h - 1]]),
        90: np.array([[0, -1.0, h - 1], [1.0, 0, 0]]),
        270: np.array([[0, 1.0, 0], [-1.0, 0, w - 1]]),
    }[degrees]


def judged(
    boxes: np.ndarray, pair: tuple[np.ndarray, np.ndarray], inliers: int, to_b: np.ndarray, contained: float, how: str
) -> Verdict:
    """The verdict on an aligned pair's box differences (steps 2 to 4); `pair`: the two blurred images compared."""
    valid = ~np.isnan(boxes)
    if not valid.any():
        return Verdict(False, inliers, to_b, None, "no area to compare", contained, 0, how)
    largest = float(np.nanmax(boxes))
    differing = np.nan_to_num(boxes, nan=0.0) > MAX_BOX_DIFF
    count = int(differing.sum())
    if count == 0:
        return Verdict(True, inliers, to_b, largest, f"aligned as {how}, no box differs", contained, 0, how)
    if overlay_like(differing, valid):
        return Verdict(True, inliers, to_b, largest, f"aligned as {how}, {count} boxes differ in a band (a caption)",
                       contained, count, how)  # fmt: skip
    if added_on_blank(differing, valid, pair):
        return Verdict(True, inliers, to_b, largest,
                       f"aligned as {how}, {count} boxes differ where one image is blank (a mark added)",
                       contained, count, how)  # fmt: skip
    return Verdict(False, inliers, to_b, largest, f"aligned as {how}, {count} boxes differ (largest {largest:.1f})",
                   contained, count, how)  # fmt: skip
