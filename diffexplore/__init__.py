"""diffexplore: symbolic versus automatic differentiation on one shared expression DAG.

This module only re-exports the public API (DESIGN.md); nothing is defined here.

>>> import diffexplore as dx
>>> x, y = dx.variables("x y")
>>> f = 1 + x + dx.exp(dx.sin(x * y))
>>> f is dx.parse("1 + x + exp(sin(x*y))")
True
"""

from .errors import (DiffexploreError, DomainError, DotNotFound, MissingValueError, ParseError,
                     RuleError, ShapeError, SizeLimitError, SympyTimeout)

# build: the graph, the rule table, formulas, traced programs, user primitives, array units
from .graph import Node, Primitive, Size, constant, free_variables, nodes, size, variable, variables
from .rules import (abs, add, atan, cos, cosh, define, div, equal, exp, expm1, greater, greater_equal,
                    less, less_equal, log, log1p, maximum, minimum, mul, neg, norm_cdf, not_equal, power,
                    primitive_scope, relu, select, sigmoid, sign, sin, sinh, sqrt, step, stop_gradient, sub,
                    tan, tanh, undefine)
from .arrays import (batch_norm, concatenate, conv2d, dropout, log_softmax, matmul, max, max_pool2d, mean,
                     min, one_hot, prod, reshape, softmax_cross_entropy, sum, take, transpose)
from .parse import parse
from .inputs import as_graph, as_point, resolve_wrt
from .trace import BranchWarning, TraceWarning, trace
from .imports import Imported, from_jax, from_torch
from . import nn

# transform / evaluate: sweeps, symbolic derivatives, differences, the derivative operators
from .evaluate import ForwardResult, ReverseResult, evaluate, forward, memory, reverse
from .numeric import default_step, numeric
from .symbolic import diff, gradient_graph
from .derivatives import grad, hessian, jacobian
from .memory import MemoryReport
from .primitives import GradientCheckError, check_grads, primitive
from .sympy_bridge import cse_form, from_sympy, latex, simplify, to_sympy
from .compile import Compiled, compile
from .exports import to_jax, to_torch, to_torch_module

# show / measure: formulas, drawings, reports, the explorer page
from .formula import formula, let_form
from .render import Drawing, render, to_dot, write_drawing
from .reports import families
from .reports.operation_counts import operation_counts
from .reports.swell import SwellReport, swell
from .reports.trace_table import trace_table
from .reports.step_sweep import cost_table, step_sweep
from .explorer import Explorer, explore

from .version import __version__

# Loading NumPy and these modules made some 30,000 objects. One full collection now pays the cyclic
# collector's debt for them at import, rather than in the middle of the first graph the user builds (a
# full collection over them costs 20-30 ms, the time of a 10^4-operation build).
import gc
gc.collect()
del gc
