"""rareml.models reproduces the PyTorch fixtures' outputs; bad input raises; predict releases the
GIL."""

import threading
import time

import numpy as np
import pytest
from safetensors.numpy import load_file

import rareml
from rareml import models

CASES = [
    ("newsnet", "newsnet.safetensors", None),
    ("efficientnet", "efficientnet_b0.safetensors", None),
    ("sndnet", "sndnet.safetensors", None),
    # torchvision's ResNet-50 and DenseNet-169 at full depth, narrowed (make_zoo_fixtures.py).
    ("resnet", "resnet50_narrow.safetensors", {"base_channels": 16}),
    ("densenet", "densenet169_narrow.safetensors", {"growth_rate": 8, "init_features": 16}),
]


@pytest.mark.parametrize("name, file, config", CASES)
def test_outputs_equal_pytorch(fixtures, name, file, config):
    t = load_file(fixtures / file)
    m = models.load(name, fixtures / file, config=config)
    out = m.predict(t["input"], batch_size=2)
    ref = t["logits_f64"] if "logits_f64" in t else t["logits"]
    assert out.shape == ref.shape and out.dtype == np.float32
    # The Rust parity tests' tolerance: max |ours - PyTorch| / max |PyTorch| < 1e-4.
    rel = np.abs(out.astype(np.float64) - ref).max() / np.abs(ref).max()
    assert rel < 1e-4
    # Batch size does not change the result beyond float32 rounding; float64 input is converted.
    np.testing.assert_allclose(m.predict(t["input"].astype(np.float64), batch_size=64), out,
                               rtol=1e-5, atol=1e-6)
    assert m.parameter_count() > 0
    assert models.config(m)["model"] == name


def test_config_dict_and_errors(fixtures):
    w = fixtures / "newsnet.safetensors"
    with pytest.raises(ValueError, match="newsnet|model"):
        models.load("resnet", w)
    with pytest.raises(FileNotFoundError):
        models.load("newsnet", fixtures / "absent.safetensors")
    with pytest.raises(ValueError):
        models.load("newsnet", w, config={"no_such_field": 3})
    # Weights of another network do not load silently.
    with pytest.raises(rareml.RaremlError):
        models.load("newsnet", fixtures / "sndnet.safetensors")
    m = models.load("newsnet", w)
    x = load_file(w)["input"]
    with pytest.raises(ValueError, match="shape"):
        m.predict(x[:, :, :, :20])
    with pytest.raises(ValueError, match="shape|batch"):
        m.predict(np.zeros(5, np.float32))
    bad = x.copy()
    bad[0, 0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        m.predict(bad)
    with pytest.raises(ValueError, match="batch_size"):
        m.predict(x, batch_size=0)


def test_predict_releases_the_gil(fixtures):
    w = fixtures / "newsnet.safetensors"
    m = models.load("newsnet", w)
    x = np.repeat(load_file(w)["input"], 16, axis=0)
    ticks = []
    done = threading.Event()

    def count():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=count)
    start = time.perf_counter()
    t.start()
    m.predict(x, batch_size=4)
    end = time.perf_counter()
    done.set()
    t.join()
    during = [s for s in ticks if start < s < end]
    # With the GIL held for the whole call the counter would stall; it ticks throughout.
    assert end - start > 0.05
    assert len(during) >= 10, (len(during), end - start)


def test_predict_answers_ctrl_c(fixtures):
    import _thread

    w = fixtures / "newsnet.safetensors"
    m = models.load("newsnet", w)
    x1 = load_file(w)["input"][:1]
    start = time.perf_counter()
    m.predict(x1, batch_size=1)
    per_event = time.perf_counter() - start
    # Enough events for ~20 s uninterrupted; Ctrl-C (interrupt_main) arrives after 0.3 s.
    n = min(2000, max(8, int(20 / max(per_event, 1e-3))))
    x = np.repeat(x1, n, axis=0)
    timer = threading.Timer(0.3, _thread.interrupt_main)
    start = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        m.predict(x, batch_size=1)
    elapsed = time.perf_counter() - start
    timer.join()
    assert elapsed < 0.3 + 1.0, elapsed
