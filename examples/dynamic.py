"""Dynamic programs: ordinary Python whose graph is decided while it runs, and a user primitive.

Trace any of them at a point and differentiate the graph of the path taken:

    import diffexplore as dx
    from diffexplore.trace import load_python_function
    newton_sqrt = load_python_function("examples/dynamic.py:newton_sqrt")
    g = dx.trace(newton_sqrt, x=2.0)
    dx.grad(g, {"x": 2.0})                            # {'x': 0.35355339059327373} = 1/(2·√2)

From the command line: ``diffexplore render --python examples/dynamic.py:piecewise --at x=0.5``.
Each function takes plain floats too, so ``newton_sqrt(2.0)`` runs as ordinary Python.
"""

import math

import diffexplore as dx


def newton_sqrt(x):
    """√x by Newton's method on y² − x = 0; how many steps it takes (the graph's length) depends on x.

    The loop stops once a step changes y by less than 1e-12 relative; the step before that one has
    converged too, so the derivative of the result is 1/(2√x) to about 1e-12.
    """
    y = x if x > 1 else 1.0
    while True:
        y_next = 0.5 * (y + x / y)
        if abs(y_next - y) <= 1e-12 * y_next:
            return y_next
        y = y_next


def kepler(m, e):
    """Kepler's equation E = m + e·sin(E), solved by fixed-point iteration (it contracts for e < 1).

    Implicit differentiation gives the reference: ∂E/∂m = 1/(1 − e·cos E), ∂E/∂e = sin E/(1 − e·cos E).
    """
    eccentric_anomaly = m
    for _ in range(500):
        following = m + e * dx.sin(eccentric_anomaly)
        if abs(following - eccentric_anomaly) <= 1e-15 * (1.0 + abs(following)):
            return following
        eccentric_anomaly = following
    raise ValueError("kepler: the fixed-point iteration did not converge in 500 steps (is e < 1?)")


def piecewise(x):
    """x² left of 1 and 2√x − 1 from 1 on: continuous at 1, slope 2 on the left and 1 on the right."""
    if x < 1:
        return x ** 2
    return 2 * dx.sqrt(x) - 1


def kinks(x, y):
    """Three kinks, three conventions.

    ``max(x*y, 0)`` is Python's max: it compares, so the trace records a decision (a tie keeps x*y);
    ``abs(x - y)`` is the abs primitive (abs'(0) = 0); ``dx.relu(y - 1)`` is the relu primitive
    (relu'(0) = 0). Only the first makes the graph depend on the branch taken.
    """
    return max(x * y, 0.0) + abs(x - y) + dx.relu(y - 1.0)


def taylor_sin(x):
    """sin(x) as its Taylor series x − x³/3! + x⁵/5! − …, summed by recursion until a term is below
    1e-17; the number of terms (the graph's depth) grows with |x|."""
    return _sin_terms(x, x, 1)


def _sin_terms(x, term, k):
    if abs(term) < 1e-17:
        return term
    following = -term * x * x / ((2 * k) * (2 * k + 1))
    return term + _sin_terms(x, following, k + 1)


@dx.primitive(partials=[lambda x, out: 2.0 / math.sqrt(math.pi) * dx.exp(-x * x)], label="erf")
def erf(x):
    """The error function, a primitive the library lacks: value from math.erf, derivative 2/√π·e^(−x²)."""
    return math.erf(x)


def normal_cdf(x):
    """The standard normal distribution function Φ(x) = (1 + erf(x/√2))/2, through the user primitive."""
    return 0.5 * (1.0 + erf(x / math.sqrt(2.0)))
