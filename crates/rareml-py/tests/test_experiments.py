"""rareml.experiments.run end to end on tiny generated data; models.load of its run directory."""

import _thread
import json
import threading
import time

import numpy as np
import pytest

import rareml
from rareml import experiments, models, preprocess, sim
from rareml.errors import InvalidArgumentError, RaremlIndexError


@pytest.fixture(scope="module")
def ship_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ship_tt")
    r = experiments.run("ship_tt", out=out, events=300, epochs=2, keep_last=2, seed=3)
    return out, r


def test_report_is_report_json(ship_run):
    out, r = ship_run
    assert r == json.loads((out / "report.json").read_text())
    assert r["experiment"] == "ship_tt" and r["settings"]["events"] == 300
    assert r["settings"]["pixel_cm"] == experiments.settings("ship_tt")["pixel_cm"]
    assert r["network"]["energy_rmse_gev"] > 0
    assert (out / "report.md").is_file() and (out / "run.json").is_file()


def test_load_a_run_directory(ship_run):
    out, r = ship_run
    last = models.load("sndnet", out)
    first = models.load("sndnet", out, checkpoint=0)
    assert last.parameter_count() == first.parameter_count()
    cfg = models.config(last)
    assert cfg["model"] == "sndnet"
    ev = sim.tt(4, seed=11)
    x, _ = preprocess.tt_hit_maps(ev, config={"pixel_cm": r["settings"]["pixel_cm"]}, coordinates=cfg["coord_conv"] if "coord_conv" in cfg else True)
    if tuple(x.shape[1:]) != tuple(cfg["input"]):
        x, _ = preprocess.tt_hit_maps(ev, config={"pixel_cm": r["settings"]["pixel_cm"]})
    y1, y0 = last.predict(x), first.predict(x)
    assert y1.shape == (4, 2) and np.all(np.isfinite(y1))
    assert not np.array_equal(y1, y0)
    with pytest.raises(InvalidArgumentError, match="trained a sndnet network .*not newsnet"):
        models.load("newsnet", out)
    with pytest.raises(RaremlIndexError, match="keeps 2 checkpoint"):
        models.load("sndnet", out, checkpoint=5)
    with pytest.raises(InvalidArgumentError, match="carries its own config"):
        models.load("sndnet", out, config={"input": [9, 30, 37]})


def test_run_errors(tmp_path):
    with pytest.raises(InvalidArgumentError, match="unknown field \"evnts\"; the fields are .*events"):
        experiments.run("ship_tt", out=tmp_path, evnts=10)
    with pytest.raises(InvalidArgumentError, match="experiment \"lhc\""):
        experiments.run("lhc", out=tmp_path)
    with pytest.raises(InvalidArgumentError, match="preset"):
        experiments.run("ship_tt", preset="huge", out=tmp_path)
    with pytest.raises(InvalidArgumentError, match="device"):
        experiments.run("ship_tt", out=tmp_path, device="tpu", events=300, epochs=1)
    with pytest.raises(FileNotFoundError):
        experiments.run("ship_tt", out=tmp_path, data=tmp_path / "absent.h5", events=300, epochs=1)


def test_run_answers_ctrl_c(tmp_path):
    timer = threading.Timer(1.5, _thread.interrupt_main)
    start = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        experiments.run("ship_tt", out=tmp_path, events=3000, epochs=200)
    elapsed = time.perf_counter() - start
    timer.join()
    assert elapsed < 1.5 + 1.0, elapsed


def test_resuming_with_another_configuration_needs_the_keyword(tmp_path):
    experiments.run("ship_tt", out=tmp_path, events=300, epochs=2, seed=3)
    with pytest.raises(Exception, match=r"another training configuration.*resume_with_new_config=True"):
        experiments.run("ship_tt", out=tmp_path, events=300, epochs=2, batch=16, seed=3)
    r = experiments.run("ship_tt", out=tmp_path, events=300, epochs=2, batch=16, seed=3, resume_with_new_config=True)
    assert r["settings"]["batch"] == 16
