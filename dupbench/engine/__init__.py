"""The one engine (encode.py): scanned files and a method in, file facts and features out, through the
one FeatureCache; used by `dupbench find` and by every benchmark that encodes files. Above both
dupbench.images (decoding) and dupbench.methods (features)."""

from dupbench.engine.encode import (
    UNITS,
    Encoded,
    Stage,
    encode_contents,
    encode_files,
    identity_of,
    rows_through_cache,
    silent,
)
from dupbench.engine.reads import Facts, ScanReads

__all__ = [
    "UNITS",
    "Encoded",
    "Facts",
    "ScanReads",
    "Stage",
    "encode_contents",
    "encode_files",
    "identity_of",
    "rows_through_cache",
    "silent",
]
