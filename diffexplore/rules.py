"""Build: the rule table. One record per primitive, made by :func:`define`, and used everywhere.

A record gives the primitive's numeric implementation, its local partial(s) ∂out/∂arg_i (or a vjp and
jvp for whole-array operations; ``linear=`` derives the jvp), and its faces elsewhere in the flow: its
SymPy function (both directions of the bridge), its NumPy ufunc (the tracer), its LaTeX name and drawing
label, its infix symbol. Nothing else lists primitives. The partials are written with diffexplore's
own functions (``cos``, ``log``, operators), which compute numbers when given numbers and build nodes
when given nodes: the same rule computes the derivative in the forward and reverse evaluators and emits
the derivative graph in the symbolic differentiator. A partial of ``None`` is zero (the argument does
not influence the value locally, as for ``sign``).

Numeric implementations take Python floats (the fast path, through :mod:`math`), complex numbers and
NumPy arrays (through NumPy). Domain violations raise (``ValueError``, ``ZeroDivisionError``,
``OverflowError`` or NumPy's ``FloatingPointError``); the evaluators turn them into a
:class:`~diffexplore.errors.DomainError` naming the node.

Conventions at kinks (subgradients, as PyTorch and JAX use them): ``relu'(0) = 0``, ``abs'(0) = 0``
(``sign(0) = 0``), ``maximum(a, b)`` sends the whole gradient to ``a`` on a tie and ``minimum`` likewise.
NaN in, NaN out: a kink at a NaN argument gives NaN, value and derivative, for floats and arrays alike
(a comparison with NaN chooses no side). ``sign`` and ``step`` are constant wherever they are defined:
their derivative is the structural zero, as in every symbolic system and in JAX and PyTorch.
"""

from __future__ import annotations

import builtins
import math
import operator
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from .errors import DiffexploreError
from .graph import PRIMITIVES, Node, Primitive, apply, shape_of
from .rule_checks import checked_impl, checked_jvp, checked_partial, checked_vjp

__all__ = [
    "define", "undefine", "primitive_scope", "add", "sub", "mul", "div", "neg", "power", "exp", "log",
    "sin", "cos", "tan", "tanh", "sqrt", "sigmoid", "relu", "abs", "sign", "step", "maximum", "minimum",
    "log1p", "expm1", "sinh", "cosh", "atan", "stop_gradient", "norm_cdf", "greater", "greater_equal", "less",
    "less_equal", "equal", "not_equal", "select", "FUNCTIONS", "facet_index",
]

#: Functions a formula string may call, by name (filled by :func:`define`).
FUNCTIONS: dict[str, Callable] = {}


def define(name: str, arity: int, impl: Callable | None, partials: Sequence[Callable | None] | None = None,
           *, vjp: Callable | None = None, jvp: Callable | None = None,
           linear: bool | Sequence[int] = False, selects: Sequence[int] = (), sympy: Any = None,
           numpy: Any = None, jax: Any = None, torch: Any = None,
           latex: str | None = None, label: str | None = None, infix: str | None = None,
           precedence: int | None = None, shape: Callable | None = None, has_attr: bool = False,
           public: bool = True, user_defined: bool = False, checked: bool | None = None,
           doc: str = "") -> Callable:
    """Add a primitive to the rule table and return its public function: everything a primitive is,
    in one record (built-in primitives are defined by this same call).

    - ``impl(*args)``: the value from numbers; ``partials``: one local partial ``(*args, out) -> ∂out/∂arg_i``
      per argument (``None``: zero), for elementwise operations; ``vjp(g, *args, out)`` and
      ``jvp(tangents, *args, out)`` for whole-array operations (``shape(*arg_shapes)`` gives their
      output shape). ``linear=True`` (or the argument positions) says the primitive is linear in those
      arguments, which gives its jvp: the sum over them of the primitive applied with that argument
      replaced by its tangent. With positions, every other argument must be listed in ``selects``
      (it only chooses, as max-pooling's input chooses the window maxima: its derivative is zero);
      a tangent on an argument in neither is refused rather than taken as zero.
    - ``sympy``: the SymPy function's name (``"exp"``) or ``callable(sympy_module, *args)``;
      ``numpy``: the NumPy ufunc or function the tracer maps to this primitive; ``latex``: the name in
      LaTeX; ``label``: the drawing label; ``infix``/``precedence``: formula printing.
    - ``jax`` / ``torch``: the primitive in JAX and PyTorch, used by ``dx.to_jax``, ``dx.to_torch`` and
      ``dx.compile(backend=...)``: the name of a function of ``jax.numpy`` / ``torch`` taking the same
      arguments (``"sin"``), or ``callable(framework_module, *args)`` (``attr=`` too when ``has_attr``),
      given the top module ``jax`` or ``torch``, computing on that framework's arrays with its own
      operations (so its autodiff, jit and devices work through it).
    - ``public``: callable by name in formula strings. ``has_attr``: the callbacks take ``attr=``.
    - ``checked``: check every result of the partials, vjp and jvp (a number, array or node of the
      right shape; anything else is a :class:`~diffexplore.errors.RuleError` naming the primitive).
      By default the primitives defined outside diffexplore's own modules are checked.

    The public function applies the primitive: to numbers it computes, to nodes it builds a node.

    >>> cube = define("cube_example", 1, lambda a: a ** 3, [lambda a, out: 3 * a ** 2], public=False)
    >>> cube(2.0)
    8.0
    >>> undefine("cube_example")
    """
    if name in PRIMITIVES:
        raise DiffexploreError(f"a primitive named {name!r} exists already "
                               f"(dx.undefine({name!r}) removes it)")
    if partials is not None and len(partials) != arity:
        raise DiffexploreError(f"{name}: {arity} argument(s) need {arity} partial(s), got {len(partials)}")
    positions = tuple(range(arity)) if linear is True else tuple(linear or ())
    selects = tuple(selects)
    if builtins.any(not 0 <= k < arity for k in positions + selects):
        raise DiffexploreError(f"{name}: argument positions {positions + selects} outside its {arity} "
                               "argument(s)")
    if positions and jvp is None and set(positions) | set(selects) != set(range(arity)):
        raise DiffexploreError(f"{name}: linear in {positions} only; say what its derivative is in the "
                               "other arguments: selects=(...) for arguments that only choose (zero "
                               "derivative), or give jvp=")
    if checked is None:       # a rule defined by the package itself is trusted; any other is checked
        checked = not sys._getframe(1).f_globals.get("__name__", "").startswith("diffexplore.")
    if checked:
        partials = None if partials is None else [
            None if p is None else checked_partial(name, k, p) for k, p in enumerate(partials)]
        vjp = None if vjp is None else checked_vjp(name, vjp)
        jvp = None if jvp is None else checked_jvp(name, jvp)
        impl = None if impl is None else checked_impl(name, impl, shape, has_attr)
    rule = Primitive(name=name, arity=arity, impl=impl,
                     partials=tuple(partials) if partials is not None else None,
                     vjp=vjp, jvp=jvp, sympy=sympy, numpy=numpy, jax=jax, torch=torch, latex=latex,
                     linear=positions, label=label, infix=infix,
                     precedence=10 if precedence is None else precedence,
                     shape=shape, has_attr=has_attr, user_defined=user_defined, doc=doc)
    if positions and jvp is None:
        rule.jvp = _linear_jvp(rule)
    PRIMITIVES[name] = rule

    if rule.has_attr:
        def function(*args, attr=None):
            return apply(rule, *args, attr=attr)
    elif arity == 1:
        def function(a):
            if type(a) is float:            # numbers in, number out (as apply does), without its loop
                return rule.impl(a)
            return apply(rule, a)
    else:
        def function(*args):
            return apply(rule, *args)
    function.__name__ = name
    function.__qualname__ = name
    function.__doc__ = doc or f"The primitive ``{name}``: numbers in, number out; nodes in, node out."
    function.rule = rule
    if public:
        FUNCTIONS[name] = function
    return function



def _linear_jvp(rule: Primitive) -> Callable:
    """The jvp of a primitive linear in ``rule.linear``: Σ over those positions of the primitive with
    that argument replaced by its tangent (a tangent smaller than its argument is broadcast first);
    tangents at other positions do not count (the primitive's derivative there is zero)."""
    positions = rule.linear

    def jvp(tangents, *args_and_out, attr=None):
        args = args_and_out[:-1]
        total = None
        for k in positions:
            t = tangents[k]
            if t is None:
                continue
            shape = shape_of(args[k])
            if shape_of(t) != shape:
                t = broadcast_to(t, attr=shape)
            replaced = args[:k] + (t,) + args[k + 1:]
            term = apply(rule, *replaced, attr=attr)
            total = term if total is None else total + term
        return total
    return jvp


def undefine(name: str) -> None:
    """Remove a primitive from the rule table (its function no longer parses; existing nodes keep it).

    >>> square = define("square_example", 1, lambda a: a * a, [lambda a, out: 2.0 * a])
    >>> undefine("square_example")
    >>> "square_example" in PRIMITIVES
    False
    """
    if name not in PRIMITIVES:
        raise DiffexploreError(f"no primitive named {name!r}")
    del PRIMITIVES[name]
    FUNCTIONS.pop(name, None)


@contextmanager
def primitive_scope() -> Iterator[None]:
    """A scope for throwaway primitives: every primitive defined (or removed) inside it is forgotten
    (restored) when it ends, so tests and experiments do not leak into the rule table.

    >>> with primitive_scope():
    ...     half = define("half_example", 1, lambda a: 0.5 * a, linear=True)
    ...     half(4.0)
    2.0
    >>> "half_example" in PRIMITIVES
    False
    """
    saved_primitives, saved_functions = dict(PRIMITIVES), dict(FUNCTIONS)
    try:
        yield
    finally:
        PRIMITIVES.clear()
        PRIMITIVES.update(saved_primitives)
        FUNCTIONS.clear()
        FUNCTIONS.update(saved_functions)


_facet_indexes: dict = {}


def facet_index(facet: Callable[[Primitive], Any]) -> dict[Any, Primitive]:
    """The rule table looked up by one of its facets: ``facet(rule)`` (None: the rule has none) -> the
    rule. The first primitive defined keeps a value two of them give; the index is rebuilt whenever a
    primitive is defined or removed, so later and user-defined primitives are found.

    >>> facet_index(lambda rule: rule.numpy)[np.sin]
    <primitive sin/1>
    """
    state = tuple(PRIMITIVES.values())
    cached = _facet_indexes.get(facet)
    if cached is None or cached[0] != state:
        table: dict[Any, Primitive] = {}
        for rule in state:
            value = facet(rule)
            if value is not None:
                table.setdefault(value, rule)
        cached = _facet_indexes[facet] = (state, table)
    return cached[1]


# ---- framework facets that are more than one function of jax.numpy or torch -------------------------
# Each takes the framework's top module first (``jax`` or ``torch``), then the primitive's arguments.


def _torch_dtype(torch: Any, *values: Any) -> Any:
    """The floating dtype of the first floating tensor among ``values`` (else torch's default)."""
    for value in values:
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            return value.dtype
    return torch.get_default_dtype()


def _jax_indicator(compare: Callable) -> Callable:
    """A comparison in JAX: 1.0 where it holds, else 0.0, in the arguments' floating type."""
    return lambda jax, a, b: jax.numpy.asarray(compare(a, b), dtype=jax.numpy.result_type(a, b, 0.0))


def _torch_indicator(compare: Callable) -> Callable:
    """A comparison in PyTorch: 1.0 where it holds, else 0.0, in the arguments' floating type."""
    def indicator(torch, a, b):
        held = compare(a, b)
        return held.to(_torch_dtype(torch, a, b)) if isinstance(held, torch.Tensor) else float(held)
    return indicator


def _jax_select(jax, condition, a, b):
    return jax.numpy.where(condition != 0, a, b)


def _torch_select(torch, condition, a, b):
    if not isinstance(condition, torch.Tensor):
        return a if condition != 0 else b
    dtype = _torch_dtype(torch, a, b)
    return torch.where(condition != 0, torch.as_tensor(a, dtype=dtype, device=condition.device),
                       torch.as_tensor(b, dtype=dtype, device=condition.device))


def _chosen_first(where: Callable, isnan: Callable, compare: Callable) -> Callable:
    """maximum/minimum as diffexplore takes them: a tie sends the whole gradient to the first argument
    (JAX and PyTorch split it), a NaN on either side gives NaN."""
    return lambda a, b: where(isnan(a), a, where(compare(a, b), a, b))


def _jax_chosen(compare: Callable) -> Callable:
    return lambda jax, a, b: _chosen_first(jax.numpy.where, jax.numpy.isnan, compare)(a, b)


def _torch_chosen(compare: Callable) -> Callable:
    def chosen(torch, a, b):
        dtype = _torch_dtype(torch, a, b)
        device = next((v.device for v in (a, b) if isinstance(v, torch.Tensor)), None)
        a, b = (torch.as_tensor(v, dtype=dtype, device=device) for v in (a, b))
        return _chosen_first(torch.where, torch.isnan, compare)(a, b)
    return chosen


def _torch_step(torch, a):
    """1 where a > 0, else 0, NaN at NaN (heaviside, which torch cannot differentiate: this has the
    derivative zero)."""
    return torch.where(torch.isnan(a), a, (a > 0).to(a.dtype))


def _sum_to_framework(a, attr, total: Callable):
    """sum_to on a framework's array (``total(a, axes, keepdims)`` sums over axes)."""
    if not hasattr(a, "shape"):
        return a
    lead = len(a.shape) - len(attr)
    if lead > 0:
        a = total(a, tuple(range(lead)), False)
    axes = tuple(i for i, n in enumerate(attr) if n == 1 and a.shape[i] != 1)
    if axes:
        a = total(a, axes, True)
    return a.reshape(tuple(attr))


def _unary(scalar: Callable, array: Callable) -> Callable:
    """A numeric implementation: :mod:`math` for Python floats, NumPy for everything else."""
    def impl(a):
        if type(a) is float:
            return scalar(a)
        return array(a)
    impl.scalar = scalar        # the sweeps call it on a float directly, one function call fewer
    return impl


# ---- leaves: variables and constants (evaluated by the evaluators themselves) -----------------------
define("var", 0, None, public=False, label="var")
define("const", 0, None, public=False, label="const")

# ---- arithmetic --------------------------------------------------------------------------------------
add = define("add", 2, operator.add,
             [lambda a, b, out: 1.0, lambda a, b, out: 1.0],
             sympy="Add", numpy=np.add, jax="add", torch="add", label="+", infix="+", precedence=1)

sub = define("sub", 2, operator.sub,
             [lambda a, b, out: 1.0, lambda a, b, out: -1.0],
             sympy=lambda sp, a, b: a - b, numpy=np.subtract, jax="subtract", torch="sub",
             label="−", infix="-", precedence=1)

mul = define("mul", 2, operator.mul,
             [lambda a, b, out: b, lambda a, b, out: a],
             sympy="Mul", numpy=np.multiply, jax="multiply", torch="mul",
             latex=r"\times", label="×", infix="*", precedence=2)

div = define("div", 2, operator.truediv,
             [lambda a, b, out: 1.0 / b, lambda a, b, out: -out / b],
             sympy=lambda sp, a, b: a / b, numpy=np.true_divide, jax="true_divide",
             torch="div", label="÷", infix="/", precedence=2)

neg = define("neg", 1, operator.neg,
             [lambda a, out: -1.0],
             sympy=lambda sp, a: -a, numpy=np.negative, jax="negative", torch="neg", label="−", precedence=3)


def _power(a, b):
    if type(a) is float and type(b) is float:
        if a < 0.0 and not b.is_integer():
            raise ValueError("a negative base needs an integer exponent")
        return a ** b
    return np.power(a, b)


def _pow_base_partial(a, b, out):
    """∂(a**b)/∂a = b·a**(b−1), and 0 where b = 0 (a**0 is 1 for every a, 0 included)."""
    if type(b) is float:
        if b == 0.0:
            return 0.0 if a == a else a                  # NaN in, NaN out
        return b * a ** (b - 1.0)
    if isinstance(b, Node):
        return b * a ** (b - 1.0)
    zero = np.equal(b, 0.0)
    if not np.any(zero):
        return b * a ** (b - 1.0)
    return np.where(zero, 0.0, b * np.where(zero, 1.0, a) ** (b - 1.0))


def _pow_exponent_partial(a, b, out):
    """∂(a**b)/∂b = a**b·log(a): it needs a > 0 (0 where a = 0 < b: 0**b is 0 for every b > 0)."""
    if type(a) is float and a <= 0.0:
        if a == 0.0 and type(b) is float and b > 0.0:
            return 0.0
        raise ValueError("the derivative of a**b with respect to the exponent b needs a positive base a "
                         "(for a < 0, a**b is not real at non-integer b)")
    if isinstance(a, np.ndarray) and not isinstance(b, Node):
        zero = (a == 0.0) & (np.real(b) > 0.0)
        if np.any(zero):               # 0**b is 0 for every b > 0: its derivative in b is 0 there
            return np.where(zero, 0.0, out * np.log(np.where(zero, 1.0, a)))
    return out * log(a)


power = define("pow", 2, _power,
               [_pow_base_partial, _pow_exponent_partial],
               sympy="Pow", numpy=np.power, jax="power", torch="pow", label="^", infix="**", precedence=4)

# ---- elementary functions ----------------------------------------------------------------------------
exp = define("exp", 1, _unary(math.exp, np.exp),
             [lambda a, out: out],
             sympy="exp", numpy=np.exp, jax="exp", torch="exp", latex=r"\exp")


def _scalar_log(a: float) -> float:
    if a <= 0.0:
        raise ValueError("log needs a positive argument")
    return math.log(a)


log = define("log", 1, _unary(_scalar_log, np.log),
             [lambda a, out: 1.0 / a],
             sympy="log", numpy=np.log, jax="log", torch="log", latex=r"\ln")

sin = define("sin", 1, _unary(math.sin, np.sin),
             [lambda a, out: cos(a)],
             sympy="sin", numpy=np.sin, jax="sin", torch="sin", latex=r"\sin")

cos = define("cos", 1, _unary(math.cos, np.cos),
             [lambda a, out: -sin(a)],
             sympy="cos", numpy=np.cos, jax="cos", torch="cos", latex=r"\cos")

tan = define("tan", 1, _unary(math.tan, np.tan),
             [lambda a, out: 1.0 + out ** 2.0],
             sympy="tan", numpy=np.tan, jax="tan", torch="tan", latex=r"\tan")

tanh = define("tanh", 1, _unary(math.tanh, np.tanh),
              [lambda a, out: 1.0 - out ** 2.0],
              sympy="tanh", numpy=np.tanh, jax="tanh", torch="tanh", latex=r"\tanh")


def _scalar_sqrt(a: float) -> float:
    if a < 0.0:
        raise ValueError("sqrt needs a non-negative argument")
    return math.sqrt(a)


sqrt = define("sqrt", 1, _unary(_scalar_sqrt, np.sqrt),
              [lambda a, out: 0.5 / out],
              sympy="sqrt", numpy=np.sqrt, jax="sqrt", torch="sqrt", label="√")


def _scalar_sigmoid(a: float) -> float:
    if a >= 0.0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


def _array_sigmoid(a):
    if np.iscomplexobj(a):
        return 1.0 / (1.0 + np.exp(-a))
    return np.exp(-np.logaddexp(0.0, -a))


sigmoid = define("sigmoid", 1, _unary(_scalar_sigmoid, _array_sigmoid),
                 [lambda a, out: out * (1.0 - out)],
                 sympy=lambda sp, a: 1 / (1 + sp.exp(-a)), label="σ",
                 jax=lambda jax, a: jax.nn.sigmoid(a), torch="sigmoid")

def _scalar_log1p(a: float) -> float:
    if a <= -1.0:
        raise ValueError("log1p needs an argument above -1")
    return math.log1p(a)


log1p = define("log1p", 1, _unary(_scalar_log1p, np.log1p),
               [lambda a, out: 1.0 / (1.0 + a)],
               sympy=lambda sp, a: sp.log(1 + a), numpy=np.log1p, jax="log1p", torch="log1p",
               latex=r"\operatorname{log1p}",
               doc="log(1 + a), accurate for small a.")

expm1 = define("expm1", 1, _unary(math.expm1, np.expm1),
               [lambda a, out: out + 1.0],
               sympy=lambda sp, a: sp.exp(a) - 1, numpy=np.expm1, jax="expm1", torch="expm1",
               latex=r"\operatorname{expm1}",
               doc="exp(a) − 1, accurate for small a.")

sinh = define("sinh", 1, _unary(math.sinh, np.sinh),
              [lambda a, out: cosh(a)],
              sympy="sinh", numpy=np.sinh, jax="sinh", torch="sinh", latex=r"\sinh")

cosh = define("cosh", 1, _unary(math.cosh, np.cosh),
              [lambda a, out: sinh(a)],
              sympy="cosh", numpy=np.cosh, jax="cosh", torch="cosh", latex=r"\cosh")

atan = define("atan", 1, _unary(math.atan, np.arctan),
              [lambda a, out: 1.0 / (1.0 + a * a)],
              sympy="atan", numpy=np.arctan, jax="arctan", torch="atan", latex=r"\arctan", label="atan")

stop_gradient = define("stop_gradient", 1, lambda a: a, [None],
                       sympy=lambda sp, a: a, label="stop∇", jax=lambda jax, a: jax.lax.stop_gradient(a),
                       torch=lambda torch, a: a.detach(),
                       doc="The value of a, with derivative zero: the graph stays valid at every point "
                           "(a constant would hold one point's value).")

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _array_norm_cdf(a):
    return np.vectorize(lambda v: 0.5 * math.erfc(-v * _SQRT_HALF), otypes=[float])(a)


norm_cdf = define("norm_cdf", 1, _unary(lambda a: 0.5 * math.erfc(-a * _SQRT_HALF), _array_norm_cdf),
                  [lambda a, out: _INV_SQRT_2PI * exp(-0.5 * (a * a))],
                  latex=r"\Phi", label="Φ", jax=lambda jax, a: jax.scipy.special.ndtr(a),
                  torch=lambda torch, a: torch.special.ndtr(a),
                  doc="The standard normal distribution function Φ(a) = (1 + erf(a/√2))/2 (exact GELU is "
                      "a·Φ(a)).")

# ---- comparisons and selection: graph nodes whose derivative is zero in the condition ----------------


def _comparison(name: str, compare: Callable, numpy_function: Any) -> Callable:
    """A comparison as a primitive: 1.0 where it holds, else 0.0 (NaN compares false, as in NumPy); its
    derivative is zero, so a graph that selects with it is valid on both sides. In SymPy it is a function
    of its name (a Piecewise would not come back as the same node)."""
    def impl(a, b):
        if type(a) is float and type(b) is float:
            return 1.0 if compare(a, b) else 0.0
        return numpy_function(np.real(a), np.real(b)) + 0.0
    return define(name, 2, impl, [None, None], numpy=numpy_function, jax=_jax_indicator(compare),
                  torch=_torch_indicator(compare),
                  doc=f"1.0 where a {name.replace('_', ' ')} b, else 0.0 (derivative zero).")


greater = _comparison("greater", operator.gt, np.greater)
greater_equal = _comparison("greater_equal", operator.ge, np.greater_equal)
less = _comparison("less", operator.lt, np.less)
less_equal = _comparison("less_equal", operator.le, np.less_equal)
equal = _comparison("equal", operator.eq, np.equal)
not_equal = _comparison("not_equal", operator.ne, np.not_equal)


def _select(condition, a, b):
    if type(condition) is float and type(a) is float and type(b) is float:
        return a if condition != 0.0 else b
    return np.where(np.real(condition) != 0, a, b)


select = define("select", 3, _select,
                [None, lambda c, a, b, out: select(c, 1.0, 0.0), lambda c, a, b, out: select(c, 0.0, 1.0)],
                numpy=np.where, jax=_jax_select, torch=_torch_select,
                doc="a where the condition is nonzero, else b (NumPy's where): the gradient flows to the "
                    "chosen side only, and the condition's derivative is zero.")

# ---- kinks (subgradient conventions in the module docstring) -----------------------------------------
relu = define("relu", 1, _unary(lambda a: 0.0 if a <= 0.0 else a,
                                lambda a: np.where(np.real(a) <= 0, np.zeros_like(a), a)),
              [lambda a, out: step(a)],
              sympy=lambda sp, a: sp.Max(a, 0), jax=lambda jax, a: jax.numpy.where(a <= 0, 0.0, a),
              torch="relu")

abs = define("abs", 1, _unary(math.fabs, lambda a: a * np.sign(np.real(a))),
             [lambda a, out: sign(a)],
             sympy="Abs", numpy=np.absolute, jax="abs", torch="abs", label="|·|")

sign = define("sign", 1, _unary(lambda a: (a > 0.0) - (a < 0.0) + 0.0 if a == a else a,
                                lambda a: np.sign(np.real(a)) + 0.0),
              [None],
              sympy="sign", numpy=np.sign, jax="sign", torch="sign")

step = define("step", 1, _unary(lambda a: 1.0 if a > 0.0 else 0.0 if a <= 0.0 else a,
                                lambda a: np.heaviside(np.real(a), 0.0)),
              [None],
              sympy=lambda sp, a: sp.Heaviside(a, 0), label="H",
              jax=lambda jax, a: jax.numpy.heaviside(a, 0.0), torch=_torch_step)

def _maximum(a, b):
    if type(a) is float and type(b) is float:
        return a if a >= b else b if b >= a else a + b       # a NaN argument gives NaN
    return _nan_wins(a, b, np.where(np.real(a) >= np.real(b), a, b))


def _minimum(a, b):
    if type(a) is float and type(b) is float:
        return a if a <= b else b if b <= a else a + b
    return _nan_wins(a, b, np.where(np.real(a) <= np.real(b), a, b))


def _nan_wins(a, b, chosen):
    """``chosen`` with NaN wherever ``a`` or ``b`` is NaN (a comparison with NaN chooses nothing)."""
    return np.where(np.isnan(a), a, np.where(np.isnan(b), b, chosen))


maximum = define("maximum", 2, _maximum,
                 [lambda a, b, out: 1.0 - step(b - a), lambda a, b, out: step(b - a)],
                 sympy="Max", numpy=np.maximum, label="max",
                 jax=_jax_chosen(operator.ge), torch=_torch_chosen(operator.ge))

minimum = define("minimum", 2, _minimum,
                 [lambda a, b, out: 1.0 - step(a - b), lambda a, b, out: step(a - b)],
                 sympy="Min", numpy=np.minimum, label="min",
                 jax=_jax_chosen(operator.le), torch=_torch_chosen(operator.le))


# ---- shape plumbing for broadcasting (array graphs) --------------------------------------------------


def _sum_to(a, attr):
    """Sum a broadcast value back down to ``attr`` (the shape it was broadcast from)."""
    a = np.asarray(a)
    lead = a.ndim - len(attr)
    if lead > 0:
        a = a.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(attr) if n == 1 and a.shape[i] != 1)
    if axes:
        a = a.sum(axis=axes, keepdims=True)
    return a.reshape(attr) if attr else a.reshape(()).item() if a.dtype.kind == "f" else a.reshape(())


sum_to = define("sum_to", 1, _sum_to, None, has_attr=True, public=False,
                jax=lambda jax, a, attr: _sum_to_framework(
                    a, attr, lambda v, axes, keep: jax.numpy.sum(v, axis=axes, keepdims=keep)),
                torch=lambda torch, a, attr: _sum_to_framework(
                    a, attr, lambda v, axes, keep: torch.sum(v, dim=axes, keepdim=keep)),
                shape=lambda s, attr: tuple(attr),
                vjp=lambda g, a, out, attr: (broadcast_to(g, attr=a.shape if hasattr(a, "shape")
                                                          else ()),),
                jvp=lambda tangents, a, out, attr: sum_to(tangents[0], attr=attr),
                doc="Sum a broadcast array back to the shape ``attr`` (the adjoint of broadcasting).")

broadcast_to = define("broadcast_to", 1, lambda a, attr: np.broadcast_to(a, attr), None,
                      jax=lambda jax, a, attr: jax.numpy.broadcast_to(a, tuple(attr)),
                      torch=lambda torch, a, attr: torch.broadcast_to(torch.as_tensor(a), tuple(attr)),
                      has_attr=True, public=False, shape=lambda s, attr: tuple(attr),
                      vjp=lambda g, a, out, attr: (sum_to(g, attr=a.shape if hasattr(a, "shape")
                                                          else ()),),
                      jvp=lambda tangents, a, out, attr: broadcast_to(tangents[0], attr=attr),
                      doc="Broadcast to the shape ``attr`` (the adjoint of sum_to).")
