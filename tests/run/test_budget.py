"""The sampler budget of a run's hierarchical fits (``--fit``): read, checked, kept in the run
folder and the manifest, passed to the models, and part of the fit cache's key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny_runs import HEADER, ROWS, write_report_notebook

from pipeline_models import cli
from pipeline_models.run.budget import effective_budget, read_budget
from pipeline_models.run.catalog import Catalog
from pipeline_models.run.inputs import Sources, prepare
from pipeline_models.run.options import EXIT_BAD_INPUT, RunError

PARAMS = 'run_dir: str = ""  # run folder\noutput_dir: str = "."  # output\n'


def test_fit_options_are_read_as_typed_settings():
    assert read_budget(None) == {}
    assert read_budget(["draws=4000", "tune= 1500", "target_accept=0.99"]) == {
        "draws": 4000,
        "tune": 1500,
        "target_accept": 0.99,
    }


@pytest.mark.parametrize(
    ("item", "said"),
    [
        ("draws=many", "--fit draws=many: must be a whole number"),
        ("draws=1.5", "--fit draws=1.5: must be a whole number"),
        ("draws=0", "--fit draws=0: must be at least 1"),
        ("tune=-5", "--fit tune=-5: must be at least 1"),
        ("target_accept=1", "--fit target_accept=1: must be a number between 0 and 1"),
        ("target_accept=0", "--fit target_accept=0: must be a number between 0 and 1"),
        ("target_accept=nan", "--fit target_accept=nan: must be a number between 0 and 1"),
        ("target_accept=high", "--fit target_accept=high: must be a number between 0 and 1"),
        (
            "chains=4",
            "--fit chains: unknown setting (NAME is one of sampler, draws, tune, target_accept)",
        ),
        ("sampler=advi", "--fit sampler=advi: must be one of laplace, nutpie, pymc"),
        ("draws", "--fit 'draws': write it as NAME=VALUE"),
        ("=4000", "--fit '=4000': write it as NAME=VALUE"),
    ],
)
def test_a_bad_fit_option_is_refused_naming_it(item, said):
    with pytest.raises(RunError) as info:
        read_budget([item])
    assert info.value.exit_code == EXIT_BAD_INPUT
    assert str(info.value).startswith(said)


def test_a_setting_given_twice_is_refused():
    with pytest.raises(RunError, match="--fit draws: given twice"):
        read_budget(["draws=3000", "draws=4000"])


@pytest.fixture
def place(tmp_path, monkeypatch):
    """A tiny export and report notebook; the commands run in that folder."""
    (tmp_path / "export.csv").write_text("\n".join([HEADER, *ROWS]) + "\n")
    monkeypatch.setenv(
        "PIPELINE_NOTEBOOKS", str(write_report_notebook(tmp_path / "nb", "t", PARAMS))
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("command", ["run", "prepare"])
def test_a_bad_budget_stops_the_command_before_any_work(place, capsys, command):
    argv = [command, "--export", "export.csv", "--period", "2025-03", "--out", "out"]
    assert cli.main([*argv, "--fit", "draws=lots"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert (
        err.strip()
        == f"pipeline-reports {command}: --fit draws=lots: must be a whole number, e.g. 4000"
    )
    assert not (place / "data").exists() and not (place / "out").exists()


def test_a_run_keeps_its_budget_in_the_run_folder_and_the_manifest(place):
    from pipeline_models.run.runner import RunOptions, run

    options = RunOptions(
        export=place / "export.csv",
        period="2025-03",
        reports_dir=place / "reports",
        data_dir=place / "data",
        cache_dir=place / "fits",
        fit_models=False,
        fit={"draws": 3000, "target_accept": 0.99},
    )
    result = run(options, progress=None)
    budget = result.manifest["parameters"]["fit"]
    assert budget == {**effective_budget({}), "draws": 3000, "target_accept": 0.99}
    run_dir = Path(result.manifest["parameters"]["run_dir"])
    assert Catalog.open(run_dir, say=None).budget == {"draws": 3000, "target_accept": 0.99}


def test_the_budget_reaches_each_hierarchical_model_and_its_cache_key(tmp_path, monkeypatch):
    import pipeline_models.models.period as period
    from pipeline_models.models.cache import CachedFit, table_key
    from pipeline_models.models.hierarchical import WinRateModel

    export = tmp_path / "export.csv"
    export.write_text("\n".join([HEADER, *ROWS]) + "\n")
    sources = Sources(
        export=export,
        period="2025-03",
        cache_dir=tmp_path / "fits",
        fit={"draws": 300, "target_accept": 0.99},
    )
    catalog = prepare(sources, tmp_path / "run").catalog
    asked = {}

    def fit_cached(model, frame, cache_dir, random_seed=None, table_digest=None):
        asked[model.model_type] = model.sampler_config
        return CachedFit(model, Path(cache_dir) / model.model_type, False)

    monkeypatch.setattr(period, "fit_cached", fit_cached)
    models = Catalog.open(catalog.folder, say=None).period_models()
    assert sorted(asked) == ["cycle_time", "revenue", "win_rate"]
    for config in asked.values():
        assert config["draws"] == 300 and config["target_accept"] == 0.99
        assert config["tune"] == effective_budget({})["tune"]
    assert models.win_rate.draws == 300
    # a fit with another budget is another fit: it has a cache entry of its own
    assert table_key(WinRateModel(draws=300), "digest", 1) != table_key(WinRateModel(), "digest", 1)


def test_a_partial_run_over_a_set_of_another_budget_is_refused(tmp_path):
    from pipeline_models.run import runner
    from pipeline_models.run.layout import RunPaths
    from pipeline_models.run.partial import check_partial

    paths = RunPaths(tmp_path / "reports", tmp_path / "data", "2025-03", "x")
    paths.published.mkdir(parents=True)
    options = runner.RunOptions(export=tmp_path / "e.csv", period="2025-03", only=("first",))
    state = runner.RunState(options, paths, [], {}, {}, None, None)
    datasets = {"datasets": {"opportunities": {"sha256": "a"}}}
    state.manifest = {
        "parameters": {**datasets, "fit": effective_budget({"draws": 4000})},
        "random_seed": 7,
    }
    previous = {"parameters": datasets, "random_seed": 7}  # made with the default budget
    (paths.published / "manifest.json").write_text(json.dumps(previous))
    default = effective_budget({})["draws"]
    said = rf"made from sampler budget draws={default}, .*\(this run: draws=4000"
    with pytest.raises(RunError, match=said):
        check_partial(state)
    previous["parameters"]["fit"] = effective_budget({"draws": 4000})
    (paths.published / "manifest.json").write_text(json.dumps(previous))
    check_partial(state)  # the same budget: accepted


def test_the_readme_states_the_default_budget():
    """Analysts read the default budget in the README before asking for more draws."""
    default = effective_budget({})
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    said = (
        f"fitted by nested Laplace with importance weights (seconds, nothing compiled; "
        f'`docs/models.md`, "How a fit is made"); where the weights show that the '
        f"approximation missed the posterior, the fit samples with NUTS instead "
        f"({default['draws']:,} draws per chain after {default['tune']:,} tuning steps, "
        f"target acceptance {default['target_accept']})"
    )
    assert default["sampler"] == "laplace"
    assert " ".join(said.split()) in " ".join(readme.split())


def test_a_fit_that_did_not_converge_says_which_option_refits_it(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from pipeline_models.models.hierarchical import FitDiagnostics
    from pipeline_models.run.fitstep import budget_advice

    export = tmp_path / "export.csv"
    export.write_text("\n".join([HEADER, *ROWS]) + "\n")
    sources = Sources(export=export, period="2025-03", fit={"draws": 3000})
    catalog = prepare(sources, tmp_path / "run").catalog
    converged = FitDiagnostics(1.0, 900.0, 0, True, "converged")
    short = FitDiagnostics(1.0, 310.0, 0, False, "bulk ESS 310 < 400")
    found = {"win rate": converged, "cycle time": converged}
    models = SimpleNamespace(diagnostics=lambda: found)
    monkeypatch.setattr(catalog, "period_models", lambda: models)
    assert budget_advice(catalog) is None
    found["cycle time"] = short
    assert "run again with --fit draws=6000" in budget_advice(catalog)
