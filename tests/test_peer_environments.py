"""`make peers` in CI's log: which peers are not available (their adapter tests skip), and a failure
when a peer that installed before on this kind of machine no longer does (issue 42, point 4)."""

from __future__ import annotations

import pytest

from experiments.peers import environments
from experiments.peers.catalog import ENVIRONMENTS


@pytest.fixture
def outcomes(monkeypatch):
    """Every default peer builds except those put in `broken` (nothing is installed)."""
    broken: dict[str, str] = {}
    monkeypatch.setattr(
        environments,
        "build",
        lambda env: f"{environments.NOT_AVAILABLE}{broken[env.name]}" if env.name in broken else "built",
    )
    return broken


def test_a_peer_that_installed_before_here_and_no_longer_does_fails(outcomes, monkeypatch, capsys):
    monkeypatch.setattr(environments, "machine_kind", lambda: "Linux-x86_64")
    outcomes["immaculate"] = "no Python 3.12 on this machine (pyenv install 3.12)"
    assert environments.main([]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[-1].endswith("not available, their adapter tests skip: immaculate")
    assert "immaculate installed before on Linux-x86_64 (experiments/peers/expected.toml)" in err
    assert environments.main(["--optional"]) == 0  # said, not a failure
    assert "immaculate installed before" in capsys.readouterr().err


def test_a_peer_never_installed_on_this_kind_of_machine_is_said_not_failed(outcomes, monkeypatch, capsys):
    monkeypatch.setattr(environments, "machine_kind", lambda: "Plan9-mips")
    outcomes["czkawka"] = "pip install czkawka==0.1.2 failed: no wheel"
    assert environments.main([]) == 0
    out, err = capsys.readouterr()
    assert "peers: 4 of 5 available" in out and "their adapter tests skip: czkawka" in out and not err


def test_every_peer_expected_here_is_a_default_environment():
    defaults = {e.name for e in ENVIRONMENTS if not e.opt_in}
    expected = environments.expected_here("Linux-x86_64")
    assert expected and expected <= defaults
