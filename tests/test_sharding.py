"""Scale past one device through JAX: the README's recipe, run as it stands, computes the gradient of the
seed example over 10^7 points sharded across 8 devices with NamedSharding/Mesh under jit, and it equals
diffexplore's own compiled NumPy gradient (each point within its rounding bound). The devices are 8
virtual CPU devices (XLA_FLAGS set before JAX is imported, so in a child process); the same code runs
unchanged on GPUs or across hosts (jax.distributed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

README = ROOT / "README.md"

#: Run after the README's recipe: its results against the compiled NumPy gradient, point by point.
CHECK = """
import json
from tests.exports_support import rounding_bound

want = dx.compile(f).gradient({"x": xs, "y": ys})
worst = {}
for name, by_jax, by_diffexplore in (("x", gradient_by_jax[0], gradient_by_diffexplore["x"]),
                                     ("y", gradient_by_jax[1], gradient_by_diffexplore["y"])):
    excess = 0.0
    for start in range(0, len(xs), 10**6):           # each point's rounding bound, a million at a time
        part = slice(start, start + 10**6)
        bound = rounding_bound(dx.diff(f, name), {"x": xs[part], "y": ys[part]}, pointwise=True)
        for got in (by_jax, by_diffexplore):
            error = np.abs(np.asarray(got[part]) - want[name][part])
            excess = max(excess, float(np.max(error / bound)))
    worst[name] = excess
print(json.dumps({
    "devices": jax.device_count(),
    "shards": [len(g.sharding.device_set) for g in (*gradient_by_jax, *gradient_by_diffexplore.values())],
    "shape": list(gradient_by_jax[0].shape),
    "worst_error_over_bound": worst,
}))
"""


def recipe() -> str:
    """The sharding recipe exactly as the README gives it (the code block after its marker)."""
    text = README.read_text(encoding="utf-8")
    after = text.split("<!-- recipe: sharding -->", 1)[1]
    return after.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_gradient_at_ten_million_points_sharded_over_eight_devices_is_diffexplores():
    environment = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8")
    done = subprocess.run([sys.executable, "-c", recipe() + CHECK], capture_output=True, text=True, cwd=ROOT,
                          env=environment, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["devices"] == 8
    assert report["shards"] == [8, 8, 8, 8]                # every result stays spread over the 8 devices
    assert report["shape"] == [10**7]
    assert all(ratio <= 1.0 for ratio in report["worst_error_over_bound"].values()), report
