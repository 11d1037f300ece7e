"""Progress: a bar on a terminal; off one, a log line a minute with the time left."""

from __future__ import annotations

import logging

from dupbench import progress as progress_module
from dupbench.progress import Progress, progress, time_left


def test_off_a_terminal_a_log_line_says_how_far_and_the_time_left(caplog, monkeypatch):
    clock = iter(range(0, 1000, 30))  # each update 30 s after the last
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: next(clock))
    with caplog.at_level(logging.INFO, logger="dupbench.progress"):
        assert list(progress(range(6), "cnn_cosine (article loop)", "pair", terminal=False)) == list(range(6))
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "cnn_cosine (article loop): 2/6 pair in 60 s, ~2.0 min left",
        "cnn_cosine (article loop): 4/6 pair in 120 s, ~1.0 min left",
        "cnn_cosine (article loop): 6/6 pair in 180 s, ~0 s left",
    ], lines


def test_on_a_terminal_a_bar_and_no_log_lines(caplog, capsys):
    with caplog.at_level(logging.INFO, logger="dupbench.progress"):
        with Progress("encode", total=3, unit="img", every_s=0, terminal=True) as bar:
            bar.update(3)
    assert caplog.records == []
    assert "encode" in capsys.readouterr().err and "3/3" in bar.bar.__str__()


def test_time_left_needs_a_total():
    assert time_left(0, 10, 5.0) == "" and time_left(5, None, 5.0) == ""
    assert time_left(1, 3, 40.0) == ", ~1.3 min left"


def test_a_tally_ends_each_benchmark_line_with_the_count_and_the_time_left(capsys, monkeypatch):
    clock = iter([0, 30, 60, 90])  # made at 0 s, each step 30 s long
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: next(clock))
    tally = progress_module.Tally(3)
    for k in range(3):
        tally.tell(f"find-scale: run {k}")
    assert capsys.readouterr().out.splitlines() == [
        "find-scale: run 0 [1/3 runs, ~1.0 min left]",
        "find-scale: run 1 [2/3 runs, ~30 s left]",
        "find-scale: run 2 [3/3 runs, ~0 s left]",
    ]
