"""How a method is named wherever a figure of it is shown: a CNN's name carries its backbone
("cnn_cosine (Lite0)"), so no CNN number is read as the article's B0 by mistake."""

from __future__ import annotations

import pandas as pd

SHORT = {"efficientnet-lite0": "Lite0", "efficientnet-b0": "B0"}


def backbone_short(backbone: object) -> str:
    if not isinstance(backbone, str) or not backbone:
        return ""
    return SHORT.get(backbone, backbone)


def method_label(method: str, backbone: object = "") -> str:
    short = backbone_short(backbone)
    return f"{method} ({short})" if short else str(method)


def with_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose `method` column names each CNN's backbone (unchanged where there is none)."""
    if frame.empty or "method" not in frame or "backbone" not in frame:
        return frame
    out = frame.copy()
    out["method"] = [method_label(m, b) for m, b in zip(frame["method"], frame["backbone"])]
    return out
