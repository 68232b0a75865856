"""diffexplore: symbolic versus automatic differentiation on one shared expression DAG.

This module only re-exports the public API (DESIGN.md); nothing is defined here.

>>> import diffexplore as dx
>>> x, y = dx.variables("x y")
>>> f = 1 + x + dx.exp(dx.sin(x * y))
>>> f is dx.parse("1 + x + exp(sin(x*y))")
True
"""

from .errors import (DiffexploreError, DomainError, DotNotFound, MissingValueError, ParseError,
                     RuleError, ShapeError, SympyTimeout)
from .graph import Node, Primitive, Size, constant, free_variables, nodes, size, variable, variables
from .rules import (abs, add, cos, define, div, exp, log, maximum, minimum, mul, neg, power, relu,
                    sigmoid, sign, sin, sqrt, step, sub, tan, tanh)
from .formula import formula, let_form
from .parse import parse
from .evaluate import ForwardResult, ReverseResult, evaluate, forward, grad, jacobian, reverse
from .numeric import default_step, numeric
from .symbolic import diff, gradient_graph, hessian
from .sympy_bridge import cse_form, from_sympy, latex, simplify, to_sympy

# --- render (issue 4) ---
from .render import Drawing, render, to_dot, write_drawing
# --- reports: swell (issue 5) ---
from .reports import families
from .reports.swell import SwellReport, operation_counts, swell
# --- reports: traces and step sweeps (issue 6) ---
from .reports.traces import trace_table
from .reports.steps import cost_table, step_sweep
# --- trace and user primitives (issue 7) ---
from .trace import BranchWarning, TraceWarning, trace
from .primitives import GradientCheckError, check_grads, primitive
# --- arrays and nn (issue 8) ---
from .arrays import (batch_norm, concatenate, conv2d, dropout, log_softmax, matmul, max_pool2d, mean,
                     one_hot, reshape, softmax_cross_entropy, sum, take, transpose)
from . import nn
# --- compile (issue 9) ---
from .compile import Compiled, compile
# --- explorer (issue 10) ---
from .explorer import Explorer, explore

__version__ = "0.1.0"
