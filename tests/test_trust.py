"""Trust: the article's CNN timed as it ran, every figure labelled and drawn from a file, findings
computed, no silent wrong result and no lost result (issue 12, one test or more per point)."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import stat
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from dupbench.methods import DupbenchError, create_method, method_class, method_names
from experiments.config import compose_config
from experiments.data import __main__ as data_cli
from experiments.data import load_dataset
from experiments.data.fetch import FetchError, source_for
from experiments.data.loader import Item, read_manifest
from experiments.paths import BASELINES, REPO_ROOT, repo_path
from experiments.provenance import refuse_dirty
from experiments.reporting.findings import article_conclusion
from experiments.reporting.labels import with_labels
from experiments.run import execute
from experiments.runners import retrieval
from experiments.tables import upsert_rows
from experiments.tools import regress
from experiments.tools.blocks import README, blocks

# Six methods quick on the fast engine: the deterministic ones (no network to run), but SSIM.
CHEAP = [m for m in method_names() if method_class(m).deterministic and m != "ssim"][:6]


def noise(seed: int, size: int = 40) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8))


def make_groups(root: Path, groups: int = 3, per_group: int = 3) -> Path:
    for g in range(groups):
        (root / f"g{g}").mkdir(parents=True, exist_ok=True)
        base = np.asarray(noise(g), dtype=np.int16)
        for k in range(per_group):
            shifted = np.clip(base + 3 * k, 0, 255).astype(np.uint8)
            Image.fromarray(shifted).save(root / f"g{g}" / f"{k}.png")
    return root


def run_folder(results: Path, data: Path, *overrides: str):
    cfg = compose_config(
        [
            f"results_root={results}",
            "dataset=folder",
            f"dataset.root={data}",
            "dataset.resize.width=32",
            "dataset.resize.height=32",
            *overrides,
        ]
    )
    execute(cfg)
    return results / "exp1-fast" / "folder" if "engine=fast" in overrides else results / "exp1" / "folder"


# --- 1. the faithful CNN runs with autograd on; the fast engine under inference mode --------------


def test_article_cnn_runs_with_autograd_on_and_the_fast_engine_without(astronaut):
    method = create_method("cnn_cosine")
    seen = []
    hook = method.backbone.model._conv_stem.register_forward_hook(
        lambda *_: seen.append((torch.is_grad_enabled(), torch.is_inference_mode_enabled()))
    )
    try:
        features = method.prepare(astronaut)
        method.prepare_many([astronaut])
    finally:
        hook.remove()
    assert features.requires_grad  # the article's forward pass recorded its graph
    assert seen == [(True, False), (False, True)]
    assert isinstance(create_method("cnn_euclidean").score(features, features), float)


# --- 2. every CNN figure names its backbone --------------------------------------------------------


def test_every_cnn_figure_in_the_readme_names_its_backbone():
    cnn_lines = [line for line in README.read_text().splitlines() if line.startswith("| cnn_")]
    assert cnn_lines, "the README shows no CNN row"
    assert all("(Lite0)" in line or "(B0)" in line for line in cnn_lines), cnn_lines


@pytest.mark.slow  # the whole report drawn from every committed baseline
def test_the_report_names_the_backbone_beside_every_cnn_figure(tmp_path):
    from experiments.tools import report

    out = tmp_path / "REPORT.md"
    report.build(tmp_path / "empty-results", out)  # baselines stand in for every section
    cnn_lines = [line for line in out.read_text().splitlines() if line.startswith("| cnn_")]
    assert cnn_lines and all("(Lite0)" in line or "(B0)" in line for line in cnn_lines)
    assert "baselines/table.csv" not in out.read_text()  # the link names the baseline file itself
    for link in (part.split("`")[1] for part in out.read_text().split("Source: ")[1:]):
        assert (out.parent / link).is_file(), f"dangling source link {link}"


def test_labels_name_the_backbone_and_leave_other_methods_alone():
    frame = pd.DataFrame(
        {
            "method": ["cnn_cosine", "ahash", "cnn_euclidean"],
            "backbone": ["efficientnet-lite0", np.nan, "efficientnet-b0"],
        }
    )
    assert list(with_labels(frame)["method"]) == ["cnn_cosine (Lite0)", "ahash", "cnn_euclidean (B0)"]


# --- 3. the Fruits-360 set says what it is -----------------------------------------------------------


def test_fruits360_config_and_readme_say_it_is_a_rebuilt_selection():
    description = compose_config(["dataset=fruits360"]).dataset.description
    assert "rebuilt selection" in description and "frames 0, 2, 3, 4" in description
    assert "not the article's own files" in description
    assert "rebuilt selection" in README.read_text()


# --- 4. the convention loader orders names naturally ----------------------------------------------


def test_convention_orders_unpadded_names_naturally(tmp_path):
    for n in range(1, 13):  # 1.jpg .. 12.jpg: a plain sort puts 10, 11, 12 after 1
        noise(n).save(tmp_path / f"{n}.jpg")
    cfg = compose_config(["dataset=sfbench", f"dataset.root={tmp_path}"]).dataset
    dataset = load_dataset(cfg)
    assert [it.key for it in dataset.items][:5] == ["1.jpg", "2.jpg", "3.jpg", "4.jpg", "5.jpg"]
    assert [it.group for it in dataset.items if it.key in ("4.jpg", "5.jpg", "12.jpg")] == ["g0000", "g0001", "g0002"]


# --- 5. findings computed on the article's metrics, ties named as ties --------------------------------


def test_the_article_conclusion_names_every_tied_method_and_what_separates_them():
    table = pd.DataFrame(
        {
            "method": ["cosine", "ahash", "ssim", "euclidean_numpy", "cnn_cosine"],
            "backbone": ["", "", "", "", "efficientnet-lite0"],
            "accuracy": [100.0, 100.0, 100.0, 11.1, 100.0],
            "mean_s_per_pair": [2e-4, 1e-4, 1e-2, 1e-4, 2e-2],
            "pair_ap": [1.0, 0.99, 0.993, 0.05, 0.999],
            "map": [1.0, 1.0, 1.0, 0.15, 1.0],
        }
    )
    text = article_conclusion(table)
    assert "4 of 5 methods tie at the best top-3 accuracy (100.00 %)" in text
    assert "ahash, cosine, ssim and cnn_cosine (Lite0)" in text  # every tied method, fastest first
    assert "fastest of them per pair in the article's loop: ahash" in text
    assert "What separates the tied methods (not the article's metrics): pair AP cosine 1.000" in text
    assert "mAP ahash = cosine = ssim = cnn_cosine (Lite0) 1.000" in text
    alone = table.assign(accuracy=[100.0, 90.0, 90.0, 11.1, 90.0])
    assert "cosine alone has the best top-3 accuracy" in article_conclusion(alone)


# --- 6. regress: a faithful method fails on any change; a variant only when worse -------------------


def test_a_faithful_method_that_got_better_fails_and_a_better_variant_passes():
    baseline = pd.read_csv(BASELINES / "exp1-embedded.csv")
    better = baseline.copy()
    better.loc[better["method"] == "euclidean_scipy", "accuracy"] += 10
    drops = regress.compare(baseline, better)
    assert list(zip(drops["method"], drops["why"])) == [("euclidean_scipy", "changed (faithful)")]
    variant = baseline.copy()
    variant.loc[variant["method"] == "euclidean_scipy_float", "pair_ap"] += 0.0  # already at 1: raise map
    variant.loc[variant["method"] == "cosine", "variant"] = "ours"  # a variant may improve freely
    variant_base = variant.copy()
    variant.loc[variant["method"] == "cosine", "map"] += 0.01
    assert regress.compare(variant_base, variant).empty


def embedded_fast(tmp: Path, methods: list[str]) -> pd.DataFrame:
    cfg = compose_config(
        [f"results_root={tmp}", "dataset=embedded", "engine=fast", "force=true", f"method.names=[{','.join(methods)}]"]
    )
    execute(cfg)
    return pd.read_csv(tmp / "exp1-fast" / "embedded" / "table.csv")


def test_casting_the_uint8_euclidean_input_to_float_makes_regress_fail(tmp_path, monkeypatch):
    from dupbench.methods import pixels

    monkeypatch.setattr(
        pixels, "pixel_rows", lambda images: np.stack([np.asarray(i, dtype=np.float64).reshape(-1) for i in images])
    )
    monkeypatch.setattr(
        pixels._PixelArray,
        "score_matrix",
        lambda self, A, B, same=False: np.sqrt(((A[:, None] - B[None]) ** 2).sum(-1)),
    )
    now = embedded_fast(tmp_path, ["euclidean_scipy"])
    baseline = pd.read_csv(BASELINES / "exp1-embedded.csv")
    drops = regress.compare(baseline[baseline["method"] == "euclidean_scipy"], now)
    assert "changed (faithful)" in set(drops["why"]), drops  # "better", and so no longer the article's


@pytest.mark.slow  # the CNN on 40 photos of 576x432
def test_adding_imagenet_normalisation_to_the_faithful_cnn_makes_regress_fail(tmp_path, monkeypatch):
    from dupbench.methods import cnn

    quick = next(q for q in regress.QUICK if q.methods and "cnn_cosine" in q.methods)
    if not regress.available(quick, None):
        pytest.skip(f"{quick.dataset} is not under the data root")
    mean, std = torch.tensor([0.485, 0.456, 0.406])[:, None, None], torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    plain = cnn.batch_to_tensor
    monkeypatch.setattr(cnn, "batch_to_tensor", lambda images: (plain(images) - mean) / std)
    cfg = compose_config(
        [
            f"results_root={tmp_path}",
            f"experiment={quick.experiment}",
            f"dataset={quick.dataset}",
            f"engine={quick.engine}",
            "feature_cache=null",
            "method.names=[cnn_cosine]",
        ]
    )
    execute(cfg)
    baseline = pd.read_csv(quick.baseline)
    drops = regress.compare(baseline[baseline["method"] == "cnn_cosine"], pd.read_csv(quick.table(tmp_path)))
    assert not drops.empty, "normalising the CNN's input changed no metric beyond tolerance"
    assert set(drops["method"]) == {"cnn_cosine"}


# --- 7. README numbers from committed CSVs; baselines only from committed code -------------------------


def test_the_bench_scale_table_and_the_exp3_ratios_come_from_committed_csvs():
    shown = {block.marker: block for block in blocks()}
    pages = README.read_text() + "".join(p.read_text() for p in (REPO_ROOT / "docs").glob("*.md"))
    for marker in ("bench-scale", "cnn-timing", "exp3-fruits360"):
        assert (BASELINES / f"{marker}.csv").is_file() and marker in shown
        assert f"<!-- {marker}:start -->" in pages


def test_a_table_measured_on_a_dirty_tree_is_never_promoted(tmp_path):
    dirty = tmp_path / "table.csv"
    pd.DataFrame({"method": ["ahash"], "git_commit": ["abc123-dirty"]}).to_csv(dirty, index=False)
    with pytest.raises(SystemExit, match="uncommitted changes"):
        refuse_dirty(dirty)
    pd.DataFrame({"method": ["ahash"], "git_commit": ["abc123"]}).to_csv(dirty, index=False)
    refuse_dirty(dirty)


def test_committed_baselines_were_measured_on_committed_code():
    for path in sorted(BASELINES.glob("*.csv")):
        commits = pd.read_csv(path)["git_commit"].astype(str)
        assert not commits.str.endswith("-dirty").any(), f"{path} comes from a dirty tree"


# --- 8. fingerprints: each file's bytes and the method's code --------------------------------------


def test_a_changed_image_of_the_same_size_redoes_the_row(tmp_path):
    data = make_groups(tmp_path / "data")
    out = run_folder(tmp_path / "r", data, "engine=fast", "method.names=[ahash]")
    first = pd.read_csv(out / "table.csv")["run_id"].iloc[0]
    run_folder(tmp_path / "r", data, "engine=fast", "method.names=[ahash]")
    assert pd.read_csv(out / "table.csv")["run_id"].iloc[0] == first  # unchanged: reused
    target = data / "g1" / "2.png"
    size, mtime = target.stat().st_size, target.stat().st_mtime_ns
    raw = bytearray(target.read_bytes())
    pixels = np.asarray(Image.open(target)).copy()
    pixels[0, 0] ^= 1
    Image.fromarray(pixels).save(target)
    os.utime(target, ns=(mtime, mtime))
    assert target.read_bytes() != bytes(raw)
    run_folder(tmp_path / "r", data, "engine=fast", "method.names=[ahash]")
    assert pd.read_csv(out / "table.csv")["run_id"].iloc[0] != first, f"size {size}: content change not seen"


def test_a_changed_method_code_redoes_the_row(tmp_path, monkeypatch):
    from dupbench.methods.hashing import AverageHash

    data = make_groups(tmp_path / "data")
    out = run_folder(tmp_path / "r", data, "engine=fast", "method.names=[ahash]")
    first = pd.read_csv(out / "table.csv")["run_id"].iloc[0]
    monkeypatch.setattr(AverageHash, "code_version", classmethod(lambda cls: "edited"))
    run_folder(tmp_path / "r", data, "engine=fast", "method.names=[ahash]")
    assert pd.read_csv(out / "table.csv")["run_id"].iloc[0] != first


def test_code_version_covers_the_helpers_a_method_uses():
    from dupbench.methods import base, method_class

    files = {Path(f).name for f in base._source_files(method_class("cnn_cosine"))}
    assert {"cnn.py", "base.py", "backbones.py", "tensors.py", "gram.py"} <= files


# --- 9. a method's outputs are complete or absent together -----------------------------------------


def test_a_row_whose_queries_are_missing_is_redone(tmp_path):
    data = make_groups(tmp_path / "data")
    out = run_folder(tmp_path / "r", data, "engine=fast", "method.names=[ahash,cosine]")
    table = pd.read_csv(out / "table.csv").set_index("method")
    queries = pd.read_csv(out / "queries.csv")
    queries[queries["method"] != "cosine"].to_csv(out / "queries.csv", index=False)
    run_folder(tmp_path / "r", data, "engine=fast", "method.names=[ahash,cosine]")
    again = pd.read_csv(out / "table.csv").set_index("method")
    assert again.loc["ahash", "run_id"] == table.loc["ahash", "run_id"]
    assert again.loc["cosine", "run_id"] != table.loc["cosine", "run_id"]
    assert (pd.read_csv(out / "queries.csv")["method"] == "cosine").any()


def test_the_table_row_is_written_after_every_other_output(tmp_path, monkeypatch):
    data = make_groups(tmp_path / "data")
    real = upsert_rows

    def fail_on_pr_curve(path, rows, **kw):
        if Path(path).name == "pr_curve.csv":
            raise OSError("disk full")
        return real(path, rows, **kw)

    monkeypatch.setattr(retrieval, "upsert_rows", fail_on_pr_curve)
    with pytest.raises(OSError):
        run_folder(tmp_path / "r", data, "engine=fast", "method.names=[ahash]")
    assert not (tmp_path / "r" / "exp1-fast" / "folder" / "table.csv").exists()


# --- 10. concurrent runs into one folder lose nothing ----------------------------------------------


def _one_method(args: tuple[str, str]) -> None:
    results, method = args
    cfg = compose_config(
        [
            f"results_root={results}",
            "dataset=embedded",
            "engine=fast",
            f"method.names=[{method}]",
            "dataset.resize.width=32",
            "dataset.resize.height=32",
        ]
    )
    execute(cfg)


@pytest.mark.slow  # 60 forked runs
def test_six_concurrent_single_method_runs_keep_all_six_rows_ten_times(tmp_path):
    load_dataset(compose_config(["dataset=embedded"]).dataset)  # built once, before the processes race
    context = multiprocessing.get_context("fork")
    for attempt in range(10):
        results = tmp_path / f"try{attempt}"
        with context.Pool(6) as pool:
            pool.map(_one_method, [(str(results), m) for m in CHEAP])
        out = results / "exp1-fast" / "embedded"
        for name in ("table.csv", "thresholds.csv"):
            assert sorted(pd.read_csv(out / name)["method"]) == sorted(CHEAP), (attempt, name)
        for name in ("queries.csv", "pr_curve.csv"):
            assert set(pd.read_csv(out / name)["method"]) == set(CHEAP), (attempt, name)
        assert set(json.loads((out / "meta.json").read_text())["methods"]) == set(CHEAP), attempt


# --- 11. settings checked before any work ----------------------------------------------------------


@pytest.mark.parametrize(
    "override, message",
    [
        ("experiment.top_k=0", "experiment.top_k=0 is not allowed: an integer >= 1"),
        ("experiment.top_k=abc", "experiment.top_k='abc' is not allowed: an integer >= 1"),
        ("dataset.resize.width=0", "dataset.resize.width=0 is not allowed"),
        ("dataset.resize.height=1.5", "dataset.resize.height=1.5 is not allowed"),
        ("torch_threads=0", "torch_threads=0 is not allowed: an integer >= 1, or null"),
        ("max_image_pixels=many", "max_image_pixels='many' is not allowed"),
        ("engine=turbo", "engine='turbo' is not allowed: one of article, fast"),
        ("force=maybe", "force='maybe' is not allowed: true or false"),
        ("+thresholds={ahash: {value: high}}", "thresholds.ahash.value='high' is not allowed: a number"),
    ],
)
def test_a_bad_setting_is_one_line_naming_key_value_and_what_is_allowed(override, message):
    with pytest.raises(DupbenchError, match=None) as raised:
        compose_config([override])
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_a_scale_factor_must_be_positive():
    with pytest.raises(DupbenchError, match=r"dataset.resize.factor=-0.5 is not allowed: a number > 0"):
        compose_config(["dataset=ukbench", "dataset.resize.factor=-0.5"])


# --- 12. paths stay inside their roots -------------------------------------------------------------


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.jpg", "a/../../outside.jpg"])
def test_a_manifest_path_outside_the_root_is_refused(tmp_path, path):
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"path,group\n{path},g\n")
    with pytest.raises(DupbenchError, match="row 2: path .* (must be relative|leaves the data set's root)"):
        read_manifest(manifest, tmp_path / "root")


def test_fetch_takes_only_http_urls_from_a_manifest(tmp_path):
    item = Item(key="a.jpg", path=tmp_path / "a.jpg", group="g", url="file:///etc/passwd")
    with pytest.raises(FetchError, match="not http"):
        source_for(item, None)
    assert source_for(item, str(tmp_path / "from")) == str(tmp_path / "from" / "a.jpg")  # the explicit --from


def test_a_dataset_name_cannot_escape_results_root():
    with pytest.raises(DupbenchError, match=r"dataset.name='../../etc' is not allowed: a plain name"):
        compose_config(["dataset.name=../../etc"])


# --- 13. one line, not a traceback ------------------------------------------------------------------


def as_nobody(work, *args) -> tuple[int, str]:
    """Run `work(*args)` in a forked child that has dropped root (root reads and writes anything)."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(reader)
        code, text = 0, ""
        try:
            os.setgid(65534)
            os.setuid(65534)
            work(*args)
        except DupbenchError as problem:
            code, text = 2, str(problem)
        except BaseException as other:  # noqa: BLE001 - reported to the parent as a failure
            code, text = 3, f"{type(other).__name__}: {other}"
        os.write(writer, text.encode())
        os._exit(code)
    os.close(writer)
    with os.fdopen(reader) as f:
        text = f.read()
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), text


def test_an_unreadable_group_folder_is_one_line(open_dir):
    data = make_groups(open_dir / "data")
    for p in data.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    data.chmod(0o755)
    (data / "g1").chmod(0o000)
    cfg = compose_config(["dataset=folder", f"dataset.root={data}"]).dataset
    code, text = as_nobody(load_dataset, cfg)
    assert code == 2 and text == f"cannot read folder {data / 'g1'}: permission denied", text


def test_an_unreadable_data_root_is_one_line(open_dir):
    data = make_groups(open_dir / "data")
    data.chmod(0o000)
    cfg = compose_config(["dataset=folder", f"dataset.root={data}"]).dataset
    code, text = as_nobody(load_dataset, cfg)
    assert code == 2 and f"cannot read folder {data}: permission denied" in text, text


def test_a_read_only_results_folder_is_one_line(open_dir):
    import contextlib
    import io

    from experiments import run as run_module

    results = open_dir / "results"
    results.mkdir()
    results.chmod(0o555)

    def work():
        cfg = compose_config([f"results_root={results}", "dataset=embedded", "method.names=[ahash]", "engine=fast"])
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                run_module.main(cfg)  # Hydra passes a ready config straight to the CLI's handler
        except SystemExit as done:
            raise DupbenchError(f"exit {done.code}: {err.getvalue()}") from None

    load_dataset(compose_config(["dataset=embedded"]).dataset)
    code, text = as_nobody(work)
    assert code == 2 and text.startswith(f"exit 2: error: permission denied: {results}"), text
    assert text.count("\n") == 1 and "Traceback" not in text


@pytest.mark.parametrize("where", ["results", "results/new/deeper"])
def test_a_read_only_results_root_is_one_line_from_the_real_command_line(open_dir, where):
    """run.py as `python experiments/run.py ...` runs it (its __main__, Hydra's own main, which makes
    results_root/runs/ before `main`), in a child that dropped root (root may write anywhere; the
    unprivileged user cannot start the venv's python, which lives under /root)."""
    import contextlib
    import io
    import runpy

    results = open_dir / "results"
    results.mkdir()
    results.chmod(0o555)
    root = open_dir / where
    argv = ["run.py", f"results_root={root}", "dataset=embedded", "method.names=[ahash]", "engine=fast"]

    def command_line():
        err = io.StringIO()
        sys.argv = argv
        try:
            with contextlib.redirect_stderr(err):
                runpy.run_path(str(REPO_ROOT / "experiments" / "run.py"), run_name="__main__")
        except SystemExit as done:
            raise DupbenchError(f"exit {done.code}: {err.getvalue()}") from None
        raise DupbenchError(f"exit 0: {err.getvalue()}")

    code, text = as_nobody(command_line)
    assert text == (
        f"exit 2: error: results_root={root}: cannot write into {results} (read-only?); "
        "pass results_root=<a folder you can write>\n"
    ), text
    assert not (results / "runs").exists()


def test_a_typo_in_a_data_override_is_one_line(capsys):
    assert data_cli.main(["check", "fruits360", "data_rot=/tmp"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: bad override") and "data_rot" in err and err.count("\n") == 1


# --- 14. a folder scan records what it does not use --------------------------------------------------


def test_a_folder_scan_records_every_file_it_does_not_use(tmp_path):
    data = make_groups(tmp_path / "data")
    (data / "g0" / ".hidden.png").write_bytes((data / "g0" / "0.png").read_bytes())
    (data / ".cache").mkdir()
    (data / "g0" / "photo.cr2").write_bytes(b"II*\x00\x10\x00\x00\x00CR")  # a raw camera file
    (data / "g0" / "notes").write_text("shopping list")
    (data / "g0" / "loop").symlink_to(data / "g0" / "loop")
    noise(7).save(data / "g1" / "scan", format="PNG")  # an image without an image suffix: used
    dataset = load_dataset(compose_config(["dataset=folder", f"dataset.root={data}"]).dataset)
    reasons = {s.key: s.reason for s in dataset.skipped}
    assert reasons["g0/.hidden.png"].startswith("hidden") and reasons[".cache"].startswith("hidden folder")
    assert reasons["g0/photo.cr2"].startswith("unsupported format .cr2")
    assert reasons["g0/notes"].startswith("not an image")
    assert reasons["g0/loop"] == "symlink loop"
    assert "g1/scan" in [it.key for it in dataset.items]
    assert all(s.stage == "scan" for s in dataset.skipped)


def test_a_file_without_an_image_suffix_is_used_when_it_begins_like_one_and_pillow_opens_it(tmp_path, monkeypatch):
    """A sidecar (Takeout's .json) is not handed to Pillow's try-every-format identification; an image
    saved without a suffix still is, and is used."""
    from dupbench.images import scan as scanning

    formats = ("JPEG", "PNG", "WEBP", "TIFF", "GIF", "BMP")
    for number, form in enumerate(formats):
        noise(3).save(tmp_path / f"{number}", format=form)
    (tmp_path / "IMG_1.jpg.json").write_text('{"title": "IMG_1.jpg"}')
    (tmp_path / "notes").write_text("BM: begins like a BMP, so Pillow decides")
    opened = []
    real = scanning.Image.open
    monkeypatch.setattr(scanning.Image, "open", lambda p, *a, **k: opened.append(Path(p).name) or real(p, *a, **k))
    found = scanning.scan(tmp_path)
    assert [p.name for p in found.files] == [str(n) for n in range(len(formats))]
    reasons = {p.name: why for p, why in found.skipped}
    assert reasons["IMG_1.jpg.json"].startswith("not an image") and reasons["notes"].startswith("not an image")
    assert "IMG_1.jpg.json" not in opened and "notes" in opened


def test_a_scan_lists_paths_as_joined_in_natural_order_with_suffixes_read_from_names(tmp_path):
    from dupbench.images.scan import scan, suffix_of

    names = ["10.jpg", "2.JPG", "é 1.png", "b.tar.PNG", "Z.", "noext"]
    for name in names:
        noise(3).save(tmp_path / name, format="PNG")
    found = scan(tmp_path)
    assert found.files == [tmp_path / n for n in ["2.JPG", "10.jpg", "Z.", "b.tar.PNG", "é 1.png", "noext"]]
    assert [str(p) for p in found.files] == [str(tmp_path / p.name) for p in found.files]
    assert all(suffix_of(n) == Path(n).suffix for n in [*names, ".hidden", "a.b.", "..x", "x"])


def test_skipped_csv_holds_the_scan_skips_with_readable_reasons(tmp_path):
    data = make_groups(tmp_path / "data")
    (data / "g0" / "broken.jpg").write_text("not a jpeg")
    (data / "g0" / "photo.heic").write_bytes(b"heic")  # read (pillow-heif), and broken
    (data / "g0" / "photo.nef").write_bytes(b"raw")
    out = run_folder(tmp_path / "r", data, "engine=fast", "method.names=[ahash]")
    skipped = pd.read_csv(out / "skipped.csv").set_index("path")
    assert skipped.loc["g0/photo.nef", "stage"] == "scan"
    assert skipped.loc["g0/photo.heic", "stage"] == skipped.loc["g0/broken.jpg", "stage"] != "scan"
    assert "not an image format Pillow recognises" in skipped.loc["g0/broken.jpg", "reason"]
    assert not skipped["reason"].str.contains("BytesIO").any()


def test_data_check_lists_files_not_in_the_manifest(tmp_path, capsys):
    root = tmp_path / "set"
    root.mkdir()
    noise(1).save(root / "a.png")
    noise(2).save(root / "b.png")
    (root / "stray.png").write_bytes((root / "a.png").read_bytes())
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,group\na.png,g\nb.png,g\n")
    assert data_cli.main(["check", "folder", f"dataset.root={root}", f"dataset.manifest={manifest}"]) == 0
    assert f"{root / 'stray.png'}: not in the manifest" in capsys.readouterr().out


# --- 15. Hydra's folder under results_root; result files readable by others --------------------------


def test_hydra_run_folder_is_under_results_root_from_the_repository_root():
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"results_root": "results", "dir": "${repo_path:${results_root}}/runs"})
    assert cfg.dir == str(REPO_ROOT / "results" / "runs")
    assert "${repo_path:${results_root}}" in (REPO_ROOT / "conf" / "config.yaml").read_text()
    assert repo_path("results") == REPO_ROOT / "results"


def test_result_files_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        upsert_rows(tmp_path / "t.csv", [{"method": "ahash", "x": 1}])
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "t.csv").stat().st_mode) == 0o644


# --- 16. groups larger than top_k + 1 --------------------------------------------------------------


def test_groups_larger_than_top_k_plus_one_get_a_notice_and_a_ceiling(tmp_path, caplog):
    data = make_groups(tmp_path / "data", groups=3, per_group=6)
    with caplog.at_level(logging.WARNING, logger="dupbench.retrieval"):
        out = run_folder(tmp_path / "r", data, "engine=fast", "method.names=[ahash]")
    notices = [r.getMessage() for r in caplog.records if "cannot reach 100 %" in r.getMessage()]
    assert len(notices) == 1 and "groups of up to 6 images with top_k=3" in notices[0]
    row = pd.read_csv(out / "table.csv").iloc[0]
    assert row["accuracy_ceiling"] == pytest.approx(100 * 3 * 3 / (18 - 3))
    assert row["accuracy"] <= row["accuracy_ceiling"]


def test_no_notice_when_groups_fit(tmp_path, caplog):
    data = make_groups(tmp_path / "data", groups=3, per_group=4)
    with caplog.at_level(logging.WARNING, logger="dupbench.retrieval"):
        run_folder(tmp_path / "r", data, "engine=fast", "method.names=[ahash]")
    assert not [r for r in caplog.records if "cannot reach 100 %" in r.getMessage()]
