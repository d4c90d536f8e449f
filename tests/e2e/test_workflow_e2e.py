"""The whole workflow end to end on a very small mock study (about a minute on 2 cores)."""

import shutil
import subprocess
import sys
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers.configs import case_config

pytestmark = pytest.mark.slow


@contextmanager
def h5py_file(path):
    import h5py

    with h5py.File(path, "r") as handle:
        yield handle


@pytest.fixture(scope="module")
def small_study(root, tmp_path_factory, snakemake_exe):
    workdir = tmp_path_factory.mktemp("study")
    config = case_config("small")
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    command = [snakemake_exe, "-s", str(root / "Snakefile"), "-d", str(workdir), "--configfile",
               str(workdir / "config.yaml"), "--cores", "2"]
    first = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert first.returncode == 0, first.stderr[-4000:]
    second = subprocess.run(command + ["-n"], capture_output=True, text=True, timeout=300)
    return workdir / "results/small", config, second, command


def test_every_stage_writes_its_table(small_study):
    results, config, *_ = small_study
    catalog = pd.read_parquet(results / "catalog.parquet")
    assert len(catalog) == 120
    assert set(catalog.columns) >= {"id", "ra", "dec", "redshift", "size_arcsec", "raw_label", "class_index",
                                    "class_name", "image_path"}
    import numpy as np

    store = np.load(results / "images.npy", mmap_mode="r")
    assert store.shape == (120, 3, 40, 40) and store.dtype == np.uint8
    splits = pd.read_parquet(results / "splits.parquet")
    assert sorted(splits["run"].unique()) == [0, 1]
    assert (splits[splits.run == 0]["subset"] == "test").sum() == 30


def test_training_runs_and_long_runs_have_per_epoch_metrics(small_study):
    results, config, *_ = small_study
    for model in config["models"]:
        for folder, epochs in (("run000", 2), ("run001", 2), ("run001-e3", 3)):
            metrics = pd.read_parquet(results / "runs" / model / folder / "metrics.parquet")
            assert list(metrics["epoch"]) == list(range(1, epochs + 1))
            assert (results / "runs" / model / folder / "predictions.parquet").exists()


def test_tables_and_figure(small_study):
    results, config, *_ = small_study
    peaks = pd.read_parquet(results / "tables/peak_accuracy.parquet")
    assert set(peaks["model"]) == set(config["models"])
    standard = peaks[~peaks["long_run"]]
    assert set(standard["budget"]) == {1, 2} and set(peaks[peaks["long_run"]]["budget"]) == {1, 2, 3}
    table1 = pd.read_csv(results / "tables/table1_budgets.csv")
    assert table1[~table1["long_run"]]["n_runs"].eq(2).all()
    assert ((table1["mean"] > 0) & (table1["mean"] < 100)).all()
    figure = results / "figures/test_accuracy_curves.png"
    assert figure.stat().st_size > 10_000 and figure.read_bytes()[:4] == b"\x89PNG"


def test_a_second_run_has_nothing_to_do(small_study):
    _, _, second, _ = small_study
    assert second.returncode == 0
    assert "Nothing to be done" in second.stdout + second.stderr


def test_folder_sample_runs_through_the_data_rules(root, tmp_path, snakemake_exe, gz1_sdss):
    """Bring your own sample: config/gz1-sdss.yaml on 300 of the real SDSS images, up to the splits."""
    labels = pd.read_csv(gz1_sdss / "labels.csv")
    subset = pd.concat([labels[labels.CLASS == c].head(n) for c, n in ((0, 200), (1, 50), (3, 30), (5, 20))])
    subset.to_csv(tmp_path / "labels.csv", index=False)
    config = yaml.safe_load((root / "config/gz1-sdss.yaml").read_text())
    config["data"]["folder"].update(table=str(tmp_path / "labels.csv"), image_dir=str(gz1_sdss / "images"))
    config["image_size"], config["splits"]["test_size"] = 64, 60
    config["training"]["crop_size"] = 56
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    results = tmp_path / "results/gz1-sdss"
    result = subprocess.run(
        [snakemake_exe, "-s", str(root / "Snakefile"), "-d", str(tmp_path), "--configfile", str(tmp_path / "config.yaml"),
         "--cores", "2", "results/gz1-sdss/images.npy", "results/gz1-sdss/splits.parquet"],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    catalog = pd.read_parquet(results / "catalog.parquet")
    assert catalog["class_name"].value_counts().to_dict() == {"elliptical": 200, "spiral": 80, "irregular+misc": 20}
    import numpy as np

    store = np.load(results / "images.npy", mmap_mode="r")
    assert store.shape == (300, 3, 64, 64)
    assert store[0].std() > 5  # a real picture, not an empty frame


def test_real_data_path_against_local_vizier_and_cutout_servers(root, tmp_path, snakemake_exe, fake_vizier, monkeypatch):
    """The nair_abraham rules end to end, with both services imitated on 127.0.0.1.

    One galaxy's cutout is gone (HTTP 404): it is dropped from the catalog and
    recorded in the manifest. A second run downloads nothing.
    """
    from astropy.table import Table

    from helpers.cutout_server import CutoutServer
    from helpers.paths import VIZIER_FIXTURE

    server, _ = fake_vizier
    raw = Table.read(VIZIER_FIXTURE, format="votable").to_pandas()
    schedules = {f"{ra:.6f}": ["503", "ok"] for ra in raw["_RAJ2000"]}
    schedules[f"{raw['_RAJ2000'].iloc[-1]:.6f}"] = ["404"]
    config = yaml.safe_load((root / "config/config.yaml").read_text())
    with CutoutServer(schedules) as cutouts:
        config["data"]["nair_abraham"].update(
            vizier_server=server, cutout_url=cutouts.url, max_missing_fraction=0.1, requests_per_second=100,
            expected_class_counts={"elliptical": 2, "lenticular": 4, "spiral": 4, "irregular+misc": 4},
        )
        config.update(study="na-local", image_size=64)
        # config/config.yaml states no training key: the paper's are the defaults; AlexNet takes 63 px or more
        config["training"] = {"crop_size": 64}
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
        command = [snakemake_exe, "-s", str(root / "Snakefile"), "-d", str(tmp_path), "--configfile",
                   str(tmp_path / "config.yaml"), "--cores", "2", "results/na-local/images.npy"]
        first = subprocess.run(command, capture_output=True, text=True, timeout=600)
        assert first.returncode == 0, first.stderr[-4000:]
        requests_after_first = sum(cutouts.requests.values())
        (tmp_path / "results/na-local/download_manifest.parquet").unlink()  # the rule must run again
        second = subprocess.run(command[:-1] + ["results/na-local/download_manifest.parquet"],
                                capture_output=True, text=True, timeout=600)
        assert second.returncode == 0, second.stderr[-4000:]
        # only the one missing galaxy is asked for again, at most max_attempts times
        assert sum(cutouts.requests.values()) - requests_after_first <= 6
    catalog = pd.read_parquet(tmp_path / "results/na-local/catalog.parquet")
    assert len(catalog) == 13 and raw["SDSS"].iloc[-1] not in set(catalog["id"])
    # VizieR's empty TT (the authors' 99): the real galaxy J084900.23+461503.37 is irregular+misc
    assert catalog.set_index("id").loc["J084900.23+461503.37", "class_name"] == "irregular+misc"
    manifest = pd.read_parquet(tmp_path / "results/na-local/download_manifest.parquet")
    assert (manifest["status"] == "ok").sum() == 13
    assert manifest.set_index("id").loc[raw["SDSS"].iloc[-1], "last_error"] == "HTTP 404"
    assert "dropped_missing_cutouts=1," in (tmp_path / "results/na-local/logs/catalog.log").read_text()
    summary_run = subprocess.run(command[:-1] + ["results/na-local/tables/sample_summary.csv"], capture_output=True,
                                 text=True, timeout=600)
    assert summary_run.returncode == 0, summary_run.stderr[-3000:]
    summary = pd.read_csv(tmp_path / "results/na-local/tables/sample_summary.csv").set_index("class_name")
    assert summary.loc["dropped: cutout missing", "galaxies"] == 1 and summary.loc["total", "galaxies"] == 13


def dry_run_output(command, config, workdir):
    """What a dry run of `command` with `config` written beside the study prints."""
    path = workdir / "changed.yaml"
    path.write_text(yaml.safe_dump(config))
    changed = [path if part.endswith("config.yaml") else part for part in command]
    result = subprocess.run([str(c) for c in changed] + ["-n"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


def dry_run_jobs(command, config, workdir):
    """Job counts of a dry run of `command` with `config` written beside the study."""
    output = dry_run_output(command, config, workdir)
    if "Nothing to be done" in output:
        return {}
    stats = output.split("Job stats:")[1].split("\n\n")[0]
    return {line.split()[0]: int(line.split()[1]) for line in stats.splitlines()[3:] if len(line.split()) == 2
            and line.split()[1].isdigit() and line.split()[0] != "total"}


def test_every_table_and_figure_of_the_paper(small_study):
    results, config, *_ = small_study
    for name in ("table1_budgets", "table2_class_accuracy", "table4_precision_recall_f1", "sign_tests",
                 "table3_long_runs"):
        assert len(pd.read_csv(results / "tables" / f"{name}.csv")) > 0, name
    signs = pd.read_csv(results / "tables/sign_tests.csv")
    assert set(signs["comparison"]) == {"peak_accuracy", "peak_epoch", "equal_budget"}
    assert (signs["wins"] + signs["losses"] + signs["ties"] == 2).all()
    long = pd.read_csv(results / "tables/table3_long_runs.csv")
    assert sorted(long["model"]) == sorted(config["models"]) and (long["epochs"] == 3).all()
    for name in study_figures(config):
        assert (results / "figures" / f"{name}.png").stat().st_size > 10_000, name
        assert (results / "figures" / f"{name}.pdf").read_bytes()[:4] == b"%PDF", name


def test_editing_one_figure_reruns_only_that_figure(small_study):
    results, config, _, command = small_study
    changed = yaml.safe_load(yaml.safe_dump(config))
    changed["figures"]["peak_histograms"] = {"bins": 7}
    assert dry_run_jobs(command, changed, results.parents[1]) == {"figure": 1, "all": 1}
    assert "figures/peak_histograms.png" in dry_run_output(command, changed, results.parents[1])
    from pathlib import Path

    from galaxy_pretraining.figures import FIGURES

    # Edit one figure's code (a comment is enough: Snakemake compares the content), then put it back.
    source = Path(FIGURES["per_class_histograms"].module_file)
    original = source.read_text()
    try:
        source.write_text(original + "# an edit\n")
        assert dry_run_jobs(command, config, results.parents[1]) == {"figure": 1, "all": 1}
        assert "figures/per_class_histograms.png" in dry_run_output(command, config, results.parents[1])
    finally:
        source.write_text(original)


def test_one_figure_is_built_by_its_path(small_study):
    results, config, _, command = small_study
    figure = results / "figures/budget_gains.png"
    figure.unlink()
    result = subprocess.run(command + [str(figure.relative_to(results.parents[1]))], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert figure.read_bytes()[:4] == b"\x89PNG"


def test_adding_runs_trains_only_the_new_ones(small_study):
    results, config, _, command = small_study
    more = yaml.safe_load(yaml.safe_dump(config))
    more["splits"]["runs"] = 3
    jobs = dry_run_jobs(command, more, results.parents[1])
    # run 2 of each model, in a job of its own; the job of runs 0 and 1 is kept
    assert {rule for rule in jobs if rule.startswith("train")} == {f"train_{model.replace('-', '_')}_run002"
                                                                  for model in config["models"]}
    from galaxy_pretraining.study import Study, resolve

    derived = [t for t in Study(resolve(yaml.safe_load(yaml.safe_dump(config)))).table_names if t != "sample_summary"]
    assert jobs["splits"] == 1 and jobs["curves"] == 1 and jobs["table"] == len(derived)


def test_settings_that_cannot_change_a_result_rerun_nothing_and_the_protocol_reruns_training(small_study):
    """After a finished study (params-rerun case): memory, device, speed and save settings change no finished job;
    a change of the protocol retrains every run, and what is derived from them."""
    results, config, _, command = small_study
    for section, key, value in [("training", "eval_batch_size", 7), ("training", "device", "auto"),
                                ("training", "compile", False), ("training", "checkpoint_every", 1),
                                ("train_resources", "threads", 1), ("train_resources", "compile_cache", None),
                                ("train_resources", "mem_mb", 1234), ("train_resources", "slurm_partition", "x")]:
        changed = yaml.safe_load(yaml.safe_dump(config))
        changed[section][key] = value
        assert changed[section].get(key) != config[section].get(key) or key not in config[section]
        assert dry_run_jobs(command, changed, results.parents[1]) == {}, (section, key)
    protocol = yaml.safe_load(yaml.safe_dump(config))
    protocol["training"]["rotation"] = 90
    jobs = dry_run_jobs(command, protocol, results.parents[1])
    assert {rule for rule in jobs if rule.startswith("train")} == {
        f"train_{model.replace('-', '_')}_{group}" for model in config["models"] for group in ("run000_001",
                                                                                               "run001_e3")}


@pytest.fixture(scope="module")
def report(small_study):
    results, config, _, command = small_study
    report = results / "report.html"
    result = subprocess.run(command + ["--report", str(report)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return report, study_figures(config)


def study_figures(config: dict) -> list[str]:
    """The figures the study draws (figures of frozen shares only in studies that have them)."""
    from galaxy_pretraining.study import Study, resolve

    names = Study(resolve(yaml.safe_load(yaml.safe_dump(config)))).figure_names
    assert "peak_histograms" in names and "frozen_share_accuracy" not in names
    return names


REPORT_TABLES = ("best_epoch_confusions", "confusion_summary", "gains", "peak_accuracy", "per_class", "sample_summary",
                 "sign_tests", "table1_budgets", "table2_class_accuracy", "table4_precision_recall_f1")


def test_html_report_shows_every_figure_with_the_paper_numbers(report):
    report, figures = report
    html = report.read_text(errors="replace")
    for name in figures:
        assert f"{name}.png" in html, name
    for name in ("table1_budgets", "table2_class_accuracy", "table4_precision_recall_f1", "sign_tests"):
        assert f"{name}.csv" in html, name
    # an EfficientNet demo on a mock sample is not the paper's comparison: no paper number in its captions
    assert "1.58e-30" not in html and "84.2" not in html
    assert "Peak test accuracy of each run" in html  # the figure's own caption


def test_the_report_renders_in_a_browser_with_every_figure_and_table(report):
    """The report as a user opens it: headless Chromium runs its JavaScript; every figure of the run is listed
    under Figures and shows as a real image, every table is listed under Tables with its CSV behind the link."""
    import base64
    import urllib.parse

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from helpers.browser import headless_chromium

    report, figures = report
    browser = headless_chromium()
    try:
        browser.get(report.as_uri())
        wait = WebDriverWait(browser, 30)

        def open_category(name):
            wait.until(lambda b: b.find_elements(By.XPATH, f"//*[normalize-space(text())='{name}']"))
            browser.find_element(By.XPATH, f"//*[normalize-space(text())='{name}']").click()

        def entries():
            return {td.text for td in browser.find_elements(By.XPATH, "//tr/td[1]")}

        open_category("Figures")
        wait.until(lambda b: set(figures) <= entries())
        for name in figures:
            browser.find_element(By.XPATH, f"//td[normalize-space(text())='{name}']/..//a[@iconname='eye']").click()
            # the figure's PNG drawn in the main view, with real pixels
            wait.until(lambda b, name=name: any(int(img.get_attribute("naturalWidth") or 0) > 200 and img.is_displayed()
                                     and f"filename={name}.png" in (img.get_attribute("src") or "")[:200]
                                     for img in b.find_elements(By.TAG_NAME, "img")))
        open_category("Results")
        open_category("Tables")
        wait.until(lambda b: set(REPORT_TABLES) <= entries())
        for name in REPORT_TABLES:
            link = browser.find_element(By.XPATH, f"//td[normalize-space(text())='{name}']/..//a[@iconname='eye']")
            uri = link.get_attribute("href")
            assert link.get_attribute("download") == f"{name}.csv"
            header, _, data = uri.partition(",")
            content = base64.b64decode(data).decode() if header.endswith(";base64") else urllib.parse.unquote(data)
            expected = (report.parent / "tables" / f"{name}.csv").read_text()
            assert content.splitlines()[0] == expected.splitlines()[0], name
    finally:
        browser.quit()


def test_one_run_of_a_job_is_rebuilt_alone(small_study):
    """Deleting one run's folder and asking for its metrics reruns its job: that run trains again, the other
    is written again from its last.pt. Last in this module: it retrains run 0 of one model."""
    results, config, _, command = small_study
    model = next(iter(config["models"]))
    kept = pd.read_parquet(results / "runs" / model / "run001" / "metrics.parquet")
    shutil.rmtree(results / "runs" / model / "run000")
    target = f"results/small/runs/{model}/run000/metrics.parquet"
    result = subprocess.run(command + [target], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    log = (results / "logs" / "train" / model / "run000-001.log").read_text()
    assert f"resuming from results/small/runs/{model}/run001/last.pt after epoch 2" in log
    assert f"resuming from results/small/runs/{model}/run000/last.pt" not in log
    assert list(pd.read_parquet(results / "runs" / model / "run000" / "metrics.parquet")["epoch"]) == [1, 2]
    pd.testing.assert_frame_equal(pd.read_parquet(results / "runs" / model / "run001" / "metrics.parquet"), kept)


MODULE_SNAKEFILE = """\
configfile: "config/config.yaml"


module galaxy_pretraining:
    snakefile:
        "{snakefile}"
    config:
        config


use rule * from galaxy_pretraining
"""


def test_the_workflow_as_a_module_of_another_project(root, tmp_path, snakemake_exe):
    """A user's own project includes this workflow with Snakemake's `module` directive: their config, their
    results folder, none of our files copied; the module's own default config is not mixed in."""
    project = tmp_path / "my_project"
    (project / "config").mkdir(parents=True)
    config = case_config("module")
    (project / "config/config.yaml").write_text(yaml.safe_dump(config))
    (project / "Snakefile").write_text(MODULE_SNAKEFILE.format(snakefile=root / "Snakefile"))
    result = subprocess.run([snakemake_exe, "--cores", "2"], cwd=project, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    assert sorted(p.name for p in (project / "results").iterdir()) == ["mine"]
    table1 = pd.read_csv(project / "results/mine/tables/table1_budgets.csv")
    assert set(table1["model"]) == set(config["models"])  # the user's arms only, not the paper's AlexNets
    assert (project / "results/mine/figures/peak_histograms.png").stat().st_size > 0
    assert not (root / "results/mine").exists()
    assert sorted(p.name for p in project.iterdir() if not p.name.startswith(".")) == [
        "Snakefile", "config", "resources", "results"]


def test_galaxy10_from_a_server_that_drops_the_connection_to_the_array_store(root, tmp_path, snakemake_exe):
    """The real path of Galaxy10 DECaLS against a local server with Zenodo's behaviour (Range), serving a small
    file in the real layout and cutting the first response half way: fetched whole, verified, catalogued with
    its class counts checked, and stored from the HDF5 file."""
    import hashlib

    import numpy as np

    from galaxy_pretraining.data.kinds.galaxy10_decals.classes import CLASS_NAMES
    from galaxy_pretraining.data.kinds.galaxy10_decals.galaxy10 import write_mock_galaxy10

    from helpers.file_server import FileServer

    served = tmp_path / "served.h5"
    write_mock_galaxy10(served, n_galaxies=120, seed=5, image_size=64)
    payload = served.read_bytes()
    with h5py_file(served) as handle:
        answers = handle["ans"][()]
    counts = {name: int((answers == i).sum()) for i, name in enumerate(CLASS_NAMES)}
    config = case_config("galaxy10-server")
    workdir = tmp_path / "work"
    command = [snakemake_exe, "-s", str(root / "Snakefile"), "-d", str(workdir), "--configfile",
               str(workdir / "config.yaml"), "--cores", "2"]
    with FileServer(payload, ["drop", "whole"]) as server:
        config["data"]["galaxy10_decals"] = {
            "url": server.url, "sha256": hashlib.sha256(payload).hexdigest(), "expected_class_counts": counts}
        workdir.mkdir()
        (workdir / "config.yaml").write_text(yaml.safe_dump(config))
        result = subprocess.run(command + ["results/g10/images.npy", "results/g10/catalog.parquet"],
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-4000:]
        assert len(server.ranges) == 2 and server.ranges[0] is None and server.ranges[1].startswith("bytes=")
        assert (workdir / "resources/galaxy10_decals/Galaxy10_DECals.h5").read_bytes() == payload
        catalog = pd.read_parquet(workdir / "results/g10/catalog.parquet")
        assert catalog["class_name"].value_counts().to_dict() == {k: v for k, v in counts.items() if v}
        store = np.load(workdir / "results/g10/images.npy")
        assert store.shape == (120, 3, 40, 40) and store.std() > 5

        # Another sha256 in the config: the file is fetched again and refused, naming it and both hashes;
        # nothing is left at the file's name.
        config["data"]["galaxy10_decals"]["sha256"] = "0" * 64
        (workdir / "config.yaml").write_text(yaml.safe_dump(config))
        again = subprocess.run(command + ["results/g10/catalog.parquet"], capture_output=True, text=True, timeout=600)
    assert again.returncode != 0
    assert not (workdir / "resources/galaxy10_decals/Galaxy10_DECals.h5").exists()
    log = (workdir / "resources/galaxy10_decals/fetch.log").read_text()
    assert "Galaxy10_DECals.h5.part: sha256 " in log and "is not the expected " + "0" * 64 in log


def run_study(root, snakemake_exe, workdir, config: dict):
    """Run the whole workflow on `config` in a new folder; its results/<study>/ folder."""
    workdir.mkdir()
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    command = [snakemake_exe, "-s", str(root / "Snakefile"), "-d", str(workdir), "--configfile",
               str(workdir / "config.yaml"), "--cores", "2"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir / "results" / config["study"]


def test_fus_study_runs_offline_on_a_mock_galaxy10_file(root, tmp_path, snakemake_exe):
    """Every table and figure of Fu's study, the frozen-share figure and a Grad-CAM figure per model."""
    config = case_config("fu-mock")
    results = run_study(root, snakemake_exe, tmp_path / "fu", config)
    table = pd.read_csv(results / "tables/frozen_share_results.csv").set_index("model")
    assert table["frozen_share"].to_dict() == pytest.approx(
        {"lite0-frozen000": 0.0, "lite0-frozen060": 0.6, "lite0-frozen100": 1.0, "lite0-scratch": float("nan")},
        nan_ok=True)
    assert (table["n_runs"] == 2).all() and table["test_accuracy_mean"].between(0, 100).all()
    assert not [c for c in table.columns if c.startswith("paper_")]  # a mock file is not Fu's data
    for figure in ("frozen_share_accuracy", "test_accuracy_curves"):
        assert (results / f"figures/{figure}.png").stat().st_size > 10_000
    for model in config["models"]:
        assert (results / f"figures/gradcam/{model}.png").stat().st_size > 10_000
        assert (results / f"figures/gradcam/{model}.pdf").exists()
    log = (results / "logs/train/lite0-frozen100/run000.log").read_text()
    assert "run 0: layers frozen at their pretrained weights (count=98, first=_conv_stem, last=_bn1)" in log
    # Disk (best_weights: figures): best weights only of the run Grad-CAM draws, once; every finished run's last.pt
    # is the small record of its results, not its training state
    import torch

    from galaxy_pretraining.study import Study, resolve

    drawn = f"run{Study(resolve(yaml.safe_load(yaml.safe_dump(config)))).model_figure_runs['gradcam']:03d}"
    for model in config["models"]:
        for folder in (results / "runs" / model).iterdir():
            assert (folder / "best.pt").exists() == (folder.name == drawn), folder
            assert (folder / "best-kept.pt").exists() == (folder.name == drawn), folder
            if folder.name == drawn:  # the best weights on disk once: best-kept.pt is a second name of best.pt
                assert (folder / "best-kept.pt").samefile(folder / "best.pt")
            record = torch.load(folder / "last.pt", weights_only=False)
            assert record["finished"] and "optimizer" not in record


def test_label_budgets_end_to_end(root, tmp_path, snakemake_exe):
    """splits.train_fractions: every (model, run) again on a quarter and a half of its labels; the
    label-budget tables and figure; the paper's tables still read the runs on all the labels only."""
    config = case_config("label-budgets")
    results = run_study(root, snakemake_exe, tmp_path / "budgets", config)
    for model in config["models"]:
        for variant in ("", "-f0.25", "-f0.5"):
            assert (results / f"runs/{model}/run001{variant}/metrics.parquet").exists()
    table = pd.read_csv(results / "tables/label_budget.csv")
    assert len(table) == 2 * 3 and (table["n_runs"] == 2).all()
    for _, rows in table.groupby("model"):
        assert rows.sort_values("train_fraction")["n_train"].is_monotonic_increasing
    assert table["n_train"].max() == 90  # all the labels: 120 galaxies less 30 for the test set
    saved = pd.read_csv(results / "tables/labels_saved.csv")
    assert set(saved["train_fraction"]) == {0.25, 0.5, 1.0} and "labels_saved_ratio" in saved
    tests = pd.read_csv(results / "tables/label_budget_sign_tests.csv")
    assert (tests["wins"] + tests["losses"] + tests["ties"] == 2).all()
    assert (results / "figures/label_budget.png").stat().st_size > 10_000
    curves = pd.read_parquet(results / "tables/curves.parquet")
    assert set(curves["train_fraction"]) == {1.0}


def test_a_zoobot_arm_fetches_its_encoder_from_a_hub_and_is_paired_with_scratch(root, tmp_path, snakemake_exe):
    """weights: zoobot on a timm architecture: the weights rule fetches the encoder from a hub (a real server on
    127.0.0.1, serving an encoder file written here), records its sha256, and training starts from it."""
    import hashlib
    import io

    import timm
    import torch

    from helpers.hub_server import HubServer

    torch.manual_seed(0)
    encoder = timm.create_model("convnext_atto", num_classes=0).state_dict()
    buffer = io.BytesIO()
    torch.save(encoder, buffer)
    config = case_config("zoobot")
    with HubServer({("mwalmsley/zoobot-encoder-convnext_atto", "pytorch_model.bin"): buffer.getvalue()}) as hub:
        config["hub_endpoint"] = hub.endpoint
        results = run_study(root, snakemake_exe, tmp_path / "zoobot", config)
    weights = tmp_path / "zoobot/resources/weights/zoobot-encoder-convnext_atto.bin"
    assert (tmp_path / "zoobot/resources/weights/zoobot-encoder-convnext_atto.bin.sha256").read_text().split()[0] == \
        hashlib.sha256(weights.read_bytes()).hexdigest() == hashlib.sha256(buffer.getvalue()).hexdigest()
    log = (results / "logs/train/atto-zoobot/run001.log").read_text()
    assert "run 1: training (architecture=timm/convnext_atto, weights=zoobot" in log
    gains = pd.read_csv(results / "tables/gains.csv")
    assert set(zip(gains["pretrained"], gains["scratch"])) == {("atto-zoobot", "atto-scratch")}


def test_galaxy_zoo2_mock_with_zhus_protocol_runs_the_whole_study(root, tmp_path, snakemake_exe):
    """data.kind galaxy_zoo2 on its mock with Zhu et al.'s protocol shrunk: the Kaggle folder rendered, the
    paper's cuts applied, a stratified split, the store's central crop, scale-jittered views with quarter turns
    and colour jitter, whitening, SGD with Nesterov momentum, a step decay and an iteration limit inside the
    second epoch; Dieleman's network from scratch and EfficientNet-Lite0 from ImageNet and scratch; ROC/AUC and
    per-side accuracy; first-layer filters and feature maps; none of Zhu et al.'s numbers (a mock is not their
    sample)."""
    config = case_config("gz2-zhu-mock")
    results = run_study(root, snakemake_exe, tmp_path / "gz2", config)
    catalog = pd.read_parquet(results / "catalog.parquet")
    assert len(catalog) == 120 and catalog["class_index"].nunique() == 5  # 30 of 150 meet no class's cuts
    assert (results / "mock/galaxy_zoo2/images_training_rev1").is_dir()
    assert np.load(results / "images.npy", mmap_mode="r").shape == (120, 3, 56, 56)
    splits = pd.read_parquet(results / "splits.parquet").merge(catalog[["id", "class_index"]], on="id")
    shares = catalog["class_index"].value_counts().sort_index() * 30 / 120
    for run in (0, 1):
        test = splits[(splits["run"] == run) & (splits["subset"] == "test")]["class_index"].value_counts()
        assert (test.sort_index() - shares).abs().max() < 1  # each class's share, rounded
    metrics = pd.read_parquet(results / "runs/dieleman2015-scratch/run001/metrics.parquet")
    assert metrics["iterations"].tolist() == [3, 4] and metrics["learning_rate"].iloc[-1] == pytest.approx(0.001)
    assert {"test_accuracy_side48", "test_accuracy_side56"} <= set(metrics)
    per_class = pd.read_csv(results / "tables/per_class.csv")
    assert set(per_class["class_name"]) == set(config["classes"])
    auc = pd.read_csv(results / "tables/roc_auc_summary.csv")
    assert set(auc["model"]) == set(config["models"]) and "macro" in set(auc["class_name"])
    assert set(pd.read_csv(results / "tables/test_side_accuracy.csv")["test_side"]) == {48, 56}
    for figure in ("confusion_matrices", "roc_curves"):
        assert (results / f"figures/{figure}.png").exists()
    for figure in ("first_layer_filters", "feature_maps"):  # their Figs. 10-13, of every model
        assert {p.name for p in (results / "figures" / figure).iterdir()} == {
            f"{model}.{suffix}" for model in config["models"] for suffix in ("png", "pdf")}
    assert not list((results / "tables").glob("zhu2019*"))


def test_the_study_accounts_for_its_cost_and_provenance_and_its_status(small_study, root):
    """compute_cost's hours are the runs' epoch seconds summed; provenance names this clone's commit; every run has
    its progress file (each epoch once) and the status command reads the finished study."""
    results, config, _, command = small_study
    # Earlier tests of this module retrain single runs without their tables: bring the study up to date first.
    subprocess.run(command, check=True, capture_output=True, timeout=900)
    seconds = sum(pd.read_parquet(path)["seconds"].sum() for path in results.glob("runs/*/*/metrics.parquet"))
    cost = pd.read_csv(results / "tables/compute_cost.csv")
    assert cost.loc[cost["model"] == "all runs", "device_hours_total"].sum() == pytest.approx(seconds / 3600)
    assert cost.loc[cost["model"] == "all runs", "n_runs"].sum() == 6
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert set(pd.read_csv(results / "tables/provenance.csv")["commit"]) == {head}
    for metrics in results.glob("runs/*/*/metrics.parquet"):
        progress = pd.read_csv(metrics.with_name("progress.csv"))
        assert progress["epoch"].tolist() == pd.read_parquet(metrics)["epoch"].tolist()
    status = subprocess.run([sys.executable, "-m", "galaxy_pretraining.status", "--configfile",
                             str(results.parents[1] / "config.yaml"), "-d", str(results.parents[1])],
                            capture_output=True, text=True, check=True)
    assert "6 runs: 6 finished, 0 running, 0 waiting, 0 failed" in status.stdout
