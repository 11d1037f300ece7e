"""Where an image shows another inside a frame: a page or a chart shown in a window and captured, a photo
on a screen. A descriptor sees the whole capture (the desktop, the window's bar, the picture small in it),
so the picture's original can rank far down its neighbours: among the kinds benchmark's 840 pages of one
style a captured page's original was not among its nearest 32, nor its group among the 8 nearest verified
groups, for 46 of 120 captures. Described by what the frame holds, it is its original's nearest.

A frame is an axis-aligned rectangle of edges (Canny, at FRAME_SIZE) whose contour fills its bounding box,
covering FRAME_SHARE of the image: a window's content, not a text line nor the whole image.
"""

from __future__ import annotations

import numpy as np

FRAME_SIZE = 512  # longest side the edges are found at: ~2-4 ms an image
FRAME_SHARE = (0.15, 0.9)  # of the image's area: a window shown on a desktop, not the image itself
FILLED = 0.95  # the contour's area over its bounding box's: a rectangle, not a text line's outline
INSET = 3  # pixels (full size) left out along the frame: its border line is not the picture's


def inner_frames(gray: np.ndarray) -> list[tuple[int, int, int, int]]:
    """The frames of a luminance image (left, top, right, bottom in its pixels), largest first: at most
    two, the largest (a window with its bar) and the smallest (what the window shows), when they differ."""
    import cv2

    factor = min(1.0, FRAME_SIZE / max(gray.shape))
    small = gray if factor == 1.0 else cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    edges = cv2.dilate(cv2.Canny(small, 50, 150), np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    area = small.shape[0] * small.shape[1]
    found = set()
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if FRAME_SHARE[0] * area <= w * h <= FRAME_SHARE[1] * area and cv2.contourArea(contour) >= FILLED * w * h:
            found.add((w * h, x, y, w, h))
    if not found:
        return []
    chosen = {max(found), min(found)}
    height, width = gray.shape[:2]
    boxes = []
    for _, x, y, w, h in sorted(chosen, reverse=True):
        left, top = min(width, round(x / factor) + INSET), min(height, round(y / factor) + INSET)
        right, bottom = max(left + 1, round((x + w) / factor) - INSET), max(top + 1, round((y + h) / factor) - INSET)
        boxes.append((left, top, right, bottom))
    return boxes
