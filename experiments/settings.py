"""Every numeric and enumerated setting checked before any work: one line naming the key, the bad
value and what is allowed (Hydra takes `top_k=abc` as a string and `top_k=0` as a number; neither
may reach a runner). Names that become folders are checked too, so no setting writes outside
results_root."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dupbench.errors import DupbenchError
from experiments.paths import ENGINES, repo_path

BACKBONE_CHOICES = ("auto", "efficientnet-lite0", "efficientnet-b0")
RESIZE_MODES = ("fixed", "scale")
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

Check = Callable[[Any], bool]


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def int_at_least(low: int) -> tuple[Check, str]:
    return (lambda v: is_int(v) and v >= low), f"an integer >= {low}"


def optional(rule: tuple[Check, str]) -> tuple[Check, str]:
    check, allowed = rule
    return (lambda v: v is None or check(v)), f"{allowed}, or null"


def one_of(*choices: str) -> tuple[Check, str]:
    return (lambda v: v in choices), f"one of {', '.join(choices)}"


POSITIVE = (lambda v: is_number(v) and v > 0), "a number > 0"
BOOLEAN = (lambda v: isinstance(v, bool)), "true or false"
EDIT_SET_NAMES = ("standard", "hard")  # experiments/data/edits.py's EDIT_SETS
SAFE = (
    (lambda v: isinstance(v, str) and bool(SAFE_NAME.match(v))),
    "a plain name (letters, digits, '.', '_', '-'; no '/' or '..'): it becomes a folder under results_root",
)
RELATIVE = (
    (lambda v: isinstance(v, str) and v and not v.startswith("/") and ".." not in v.split("/")),
    "a relative folder name without '..'",
)

RESULTS_ROOT = (
    (lambda v: isinstance(v, str) and v.strip() != "" and not Path(v).expanduser().is_file()),
    "a folder (not empty, not an existing file)",
)
RESIZE = (
    (lambda v: isinstance(v, Mapping) and v.get("mode") in RESIZE_MODES),
    "a mapping {mode: fixed, width, height} or {mode: scale, factor}",
)

# key (dotted) -> (check, what is allowed). A key absent from the config is not checked.
RULES: dict[str, tuple[Check, str]] = {
    "engine": one_of(*ENGINES),
    "backbone": one_of(*BACKBONE_CHOICES),
    "force": BOOLEAN,
    "torch_threads": optional(int_at_least(1)),
    "max_image_pixels": optional(int_at_least(1)),
    "dataset.name": SAFE,
    "dataset.resize.mode": one_of(*RESIZE_MODES),
    "dataset.group_size": int_at_least(1),
    "dataset.seed": int_at_least(0),
    "experiment.output": RELATIVE,
    "experiment.top_k": int_at_least(1),
    "experiment.rule": one_of("best_f1", "p99"),
    "experiment.repetitions": optional(int_at_least(1)),
    "experiment.warmup": int_at_least(0),
    "experiment.sweep_pairs": int_at_least(1),
    "experiment.seed": int_at_least(0),
    "experiment.workers": int_at_least(1),
    "experiment.budget_s": POSITIVE,
    "experiment.max_encode_s_per_image": POSITIVE,
    "experiment.budget_sample": int_at_least(2),
    "experiment.timeout_s": POSITIVE,
    "experiment.peers": BOOLEAN,
    "dataset.distractors": int_at_least(0),
    "results_root": RESULTS_ROOT,
    "dataset.resize": RESIZE,
    "dataset.edits": (
        (lambda v: isinstance(v, bool) or v in EDIT_SET_NAMES),
        f"true, false or one of {', '.join(EDIT_SET_NAMES)}",
    ),
}
FIXED_SIZE = {"dataset.resize.width": int_at_least(1), "dataset.resize.height": int_at_least(1)}
# A factor that is finite and at most 16 (a larger one makes an 8 MP photo a 2 GP one); one that shrinks
# an image below MIN_SIDE pixels is refused when the image's size is known (loader.target_size).
SCALE = {
    "dataset.resize.factor": (
        (lambda v: is_number(v) and 0 < v <= 16),
        "a number > 0 and <= 16 (a factor of the image's sides)",
    )
}
MISSING = object()


def lookup(cfg: Mapping[str, Any], dotted: str) -> Any:
    node: Any = cfg
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return MISSING
        node = node[part]
    return node


def refuse(key: str, value: Any, allowed: str) -> DupbenchError:
    return DupbenchError(f"{key}={value!r} is not allowed: {allowed}")


def validate(cfg: Mapping[str, Any]) -> None:
    """Raise DupbenchError (one line) for the first setting that is out of range or of the wrong type."""
    rules = dict(RULES)
    mode = lookup(cfg, "dataset.resize.mode")
    rules.update(FIXED_SIZE if mode == "fixed" else SCALE if mode == "scale" else {})
    for key, (check, allowed) in rules.items():
        value = lookup(cfg, key)
        if value is not MISSING and not check(value):
            raise refuse(key, value, allowed)
    sizes = lookup(cfg, "experiment.sweep_sizes")
    if sizes is not MISSING and not (isinstance(sizes, (list, tuple)) and all(is_int(s) and s >= 1 for s in sizes)):
        raise refuse("experiment.sweep_sizes", sizes, "a list of integers >= 1")
    names = lookup(cfg, "method.names")
    if names is not MISSING and not (
        isinstance(names, (list, tuple)) and names and all(isinstance(n, str) for n in names)
    ):
        raise refuse("method.names", names, "a non-empty list of method names")
    validate_thresholds(lookup(cfg, "thresholds"))


def validate_thresholds(thresholds: Any) -> None:
    if thresholds is MISSING or thresholds is None:
        return
    if not isinstance(thresholds, Mapping):
        raise refuse("thresholds", thresholds, "a mapping {method: {value: NUMBER, ...}}")
    for method, entry in thresholds.items():
        value = entry.get("value", MISSING) if isinstance(entry, Mapping) else MISSING
        if not is_number(value):
            raise refuse(f"thresholds.{method}.value", value if value is not MISSING else entry, "a number")


def check_overrides(argv: list[str]) -> None:
    """The command line's own `key=value` settings, checked before Hydra composes anything (or torch is
    imported): a bad value answers at once. Keys left out here are checked after composing."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    rules = {**RULES, **FIXED_SIZE, **SCALE}
    wanted = [arg for arg in argv if not arg.startswith("-") and arg.partition("=")[0].lstrip("+~") in rules]
    if not wanted:
        return
    try:
        overrides = OverridesParser.create().parse_overrides(wanted)
    except Exception:  # noqa: BLE001 - Hydra itself reports a malformed override, with its grammar's words
        return
    for override in overrides:
        key = override.key_or_group
        value = override.value()
        check, allowed = rules[key]
        if key == "dataset.resize" and isinstance(value, dict):
            continue  # a whole mapping: checked once composed
        if not override.is_delete() and not isinstance(value, (list, dict)) and not check(value):
            raise refuse(key, value, allowed)


def check_results_root_writable(argv: list[str], default: str) -> None:
    """Hydra makes `<results_root>/runs/...` before `main` runs, and reports its own failure there as a
    traceback: a results_root that cannot be written is said here first, in one line."""
    given = [arg.partition("=")[2] for arg in argv if arg.partition("=")[0].lstrip("+~") == "results_root"]
    root = repo_path(given[-1] if given else default)
    existing = root
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise DupbenchError(
            f"results_root={root}: cannot write into {existing} (read-only?); "
            "pass results_root=<a folder you can write>"
        )
