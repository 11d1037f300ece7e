"""Which method, rule and threshold `dupbench find` uses: by default what the benchmark recommends,
shipped with the package as thresholds.json (written from the committed benchmark table by
`make thresholds`, with the commit that measured it).

A method is offered as calibrated only where its threshold held 99 % pairwise precision on every
kind of data it was scored on; for any other, `--threshold calibrated` is one line saying where it
missed, and a number must be given.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

from dupbench.errors import DupbenchError
from dupbench.grouping import GROUPINGS, NORMALISATIONS, Rule
from dupbench.images.decode import Decode
from dupbench.methods import Method, create_method
from dupbench.methods.registry import availability, unavailable

SHIPPED = "thresholds.json"


@dataclass
class Choice:
    name: str
    method: Method
    rule: Rule
    threshold_source: str
    decode: Decode
    verify: bool = False  # each candidate pair verified (dupbench/verify.py) before it links

    @property
    def threshold(self) -> float:
        return self.rule.threshold


def shipped() -> dict[str, Any]:
    try:
        text = resources.files("dupbench.finder").joinpath(SHIPPED).read_text()
        return json.loads(text)
    except (OSError, ValueError) as exc:
        raise DupbenchError(
            f"dupbench/finder/{SHIPPED} cannot be read ({exc}): it holds the benchmark's calibrated thresholds "
            "(`make thresholds` writes it); pass --method NAME --threshold VALUE to go without it"
        ) from None


def default_here(table: dict[str, Any]) -> tuple[str, str]:
    """The default method, and "" where it can run here; else the first method the benchmark offers after
    it (thresholds.json's `offered`, best first) that can, with a line saying why and what brings the default."""
    default = table["default"]
    why = unavailable(default)
    if not why:
        return default, ""
    for name in table.get("offered", []):
        if name in table["methods"] and not unavailable(name):
            return name, f"; {name} in place of the default: {why}"
    raise DupbenchError(why)


def methods_here() -> str:
    """`dupbench find --help`'s list: the methods that can run here, and the others with what brings them."""
    ready, lacking = availability()
    lines = [f"Methods installed here: {', '.join(ready)}."]
    lines += [f"Not installed: {', '.join(names)} (needs {missing})." for missing, names in lacking.items()]
    return "\n".join(lines)


def rule_of(entry: dict) -> Rule:
    """The one place a shipped entry of thresholds.json becomes a Rule (the finder's and the field's)."""
    return Rule(
        float(entry["threshold"]),
        entry.get("grouping", "components"),
        entry.get("normalise", "none"),
        int(entry.get("background_k", 10)),
        entry.get("prior"),
    )


def check_rule_options(grouping: str | None, normalise: str | None) -> None:
    for value, allowed, what in ((grouping, GROUPINGS, "--grouping"), (normalise, NORMALISATIONS, "--normalise")):
        if value is not None and value not in allowed:
            raise DupbenchError(f"{what} {value!r}: one of {', '.join(allowed)}")


def calibrated(name: str, instance: Method, table: dict, changed: bool, stand_in: str) -> Choice:
    """The shipped rule of `name` (`changed`: --grouping or --normalise given, which it fixes)."""
    entry = table["methods"].get(name)
    if entry is None:
        raise DupbenchError(
            f"no calibrated threshold for {name} (calibrated: {', '.join(sorted(table['methods']))}); "
            "pass --threshold VALUE"
        )
    if not entry.get("calibrated", True):
        raise DupbenchError(
            f"{name} is not offered as calibrated: {entry.get('why', 'its threshold missed 99 % precision')}; "
            "pass --threshold VALUE to use it anyway"
        )
    if changed:
        raise DupbenchError("--grouping and --normalise go with --threshold VALUE (the calibrated rule is fixed)")
    rule = rule_of(entry)
    where = table.get("source", {})
    background = ", scores less the folder background" if rule.normalise == "local" else ""
    source = (
        f"calibrated: {rule.grouping} groups{background}, from {where.get('table', 'the benchmark')} "
        f"at commit {where.get('git_commit', '?')}; `dupbench find --help` says what it held"
    )
    return Choice(name, instance, rule, source + stand_in, Decode.from_label(entry["decode"]))


def given(
    name: str, instance: Method, threshold: str, entry: dict, grouping: str | None, normalise: str | None, stand_in: str
) -> Choice:
    """A threshold given on the command line; the shipped entry still gives the grouping and prior."""
    try:
        value = float(threshold)
    except ValueError:
        raise DupbenchError(f"--threshold {threshold!r}: give 'calibrated' or a number") from None
    if not math.isfinite(value):
        raise DupbenchError(f"--threshold {threshold!r}: give a finite number")
    if normalise != "local" and instance.goodness(value) > instance.goodness(instance.perfect_score()):
        raise DupbenchError(f"--threshold {threshold!r}: stricter than a perfect score (nothing would be found)")
    rule = Rule(
        value,
        grouping or entry.get("grouping", "components"),
        normalise or "none",
        int(entry.get("background_k", 10)),
        entry.get("prior") if normalise == "local" else None,
    )
    return Choice(name, instance, rule, f"given on the command line{stand_in}", Decode.for_method(instance))


def choose(
    method: str | None,
    threshold: str = "calibrated",
    grouping: str | None = None,
    normalise: str | None = None,
    options: dict | None = None,
) -> Choice:
    if method is None or threshold == "calibrated":
        table = shipped()
    else:  # a number given: the shipped entry still gives the method's prior and grouping where there is one
        try:
            table = shipped()
        except DupbenchError:
            table = {"methods": {}}
    name, stand_in = (method, "") if method else default_here(table)
    instance = create_method(name, options or {"backbone": "auto", "weights_path": None})
    check_rule_options(grouping, normalise)
    if threshold == "calibrated":
        return calibrated(name, instance, table, bool(grouping or normalise), stand_in)
    return given(name, instance, threshold, table["methods"].get(name) or {}, grouping, normalise, stand_in)


# The default, issue 39's two stages: candidates by the first of these whose method runs here, at a loose
# threshold chosen for recall on the choose half of experiments/tools/copies_bench.py's person's folder
# (docs/verify.md), without the folder background (a burst is its own background), in components; then the
# verification leaves the look-alikes out. Distilled SSCD first; PDQ where its model's package is not
# installed (Python 3.11, where pip leaves it out). The benchmarks' two stages (experiments/peers/catalog.py)
# give these options by name.
TWO_STAGES = (("sscd_distilled", "0.5"), ("pdq", "96"))
CANDIDATE_RULE = ("components", "none")


def two_stages() -> Choice:
    """The default: the two stages with the first candidate method that runs here, and why where it is not
    the first."""
    first = TWO_STAGES[0][0]
    for name, threshold in TWO_STAGES:
        if unavailable(name):
            continue
        stand_in = "" if name == first else f"; {name} in place of the default's {first}: {unavailable(first)}"
        choice = choose(name, threshold, *CANDIDATE_RULE)
        source = f"the default's candidates, each pair then verified (issue 39's two stages, docs/verify.md){stand_in}"
        return dataclasses.replace(choice, threshold_source=source, verify=True)
    raise DupbenchError(unavailable(first))


def choose_for(
    method: str | None, threshold: str, grouping: str | None, normalise: str | None, verify: bool, views: bool = False
) -> Choice:
    """find's and review's rule. With none of --method, --threshold, --grouping, --normalise: the two stages
    (two_stages()), or with --views the calibrated one-stage rule that finds other views of one object too
    (choose()'s default). With any of them: choose()'s rule, its pairs verified where --verify is given."""
    alone = method is None and threshold == "calibrated" and not (grouping or normalise)
    if views:
        if not alone or verify:
            raise DupbenchError(
                "--views is the calibrated one-stage rule: it goes without --method, --threshold, --grouping, "
                "--normalise and --verify (the verification keeps copies only, not other views)"
            )
        return choose(None)
    if alone:
        return two_stages()
    return dataclasses.replace(choose(method, threshold, grouping, normalise), verify=verify)


def chosen(args: Any) -> Choice:
    """find's and review's rule from their options; one line where the verification it needs cannot run."""
    choice = choose_for(args.method, args.threshold, args.grouping, args.normalise, args.verify, args.views)
    if choice.verify and importlib.util.find_spec("cv2") is None:
        raise DupbenchError(
            "the verification needs OpenCV, a dependency of dupbench that is missing here: "
            "pip install opencv-python-headless (or --views, the one-stage rule, without it)"
        )
    return choice
