"""Scale past one device through JAX: the gradient of the seed example over 10^7 points, sharded across 8
devices with NamedSharding/Mesh under jit, equals diffexplore's own compiled NumPy gradient (each point
within its rounding bound). The devices are 8 virtual CPU devices (XLA_FLAGS set before JAX is imported,
so in a child process); the same code runs unchanged on GPUs or across hosts (jax.distributed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import os
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
import json
import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

import diffexplore as dx
from tests.exports_support import rounding_bound

jax.config.update("jax_enable_x64", True)
POINTS = 10**7
f = dx.parse("1 + x + exp(sin(x*y))")
rng = np.random.default_rng(0)
xs, ys = rng.uniform(-2, 2, POINTS), rng.uniform(-2, 2, POINTS)

# the recipe (README, "Take it with you"): shard the points over every device, jit, and let XLA split it
mesh = Mesh(np.array(jax.devices()), axis_names=("points",))
points = NamedSharding(mesh, PartitionSpec("points"))
x, y = jax.device_put(xs, points), jax.device_put(ys, points)
value_function = dx.to_jax(f)
gradient_by_jax = jax.jit(jax.vmap(jax.grad(value_function, argnums=(0, 1))))(x, y)
reverse_sweep = dx.compile(f, backend="jax")
gradient_by_diffexplore = jax.jit(reverse_sweep.gradient)({"x": x, "y": y})

want = dx.compile(f).gradient({"x": xs, "y": ys})
worst = {}
for name, by_jax, by_diffexplore in (("x", gradient_by_jax[0], gradient_by_diffexplore["x"]),
                                     ("y", gradient_by_jax[1], gradient_by_diffexplore["y"])):
    excess = 0.0
    for start in range(0, POINTS, 10**6):           # each point's rounding bound, a million at a time
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


def test_the_gradient_at_ten_million_points_sharded_over_eight_devices_is_diffexplores():
    environment = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8")
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, cwd=ROOT,
                          env=environment, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["devices"] == 8
    assert report["shards"] == [8, 8, 8, 8]                # every result stays spread over the 8 devices
    assert report["shape"] == [10**7]
    assert all(ratio <= 1.0 for ratio in report["worst_error_over_bound"].values()), report
