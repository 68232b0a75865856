"""Errors, shared by every stage: each names what was wrong, where, and what is allowed.

The command line turns any :class:`DiffexploreError` into a one-paragraph message and exit status 2,
never a traceback.
"""

from __future__ import annotations


class DiffexploreError(Exception):
    """Base class of every error diffexplore raises on purpose."""


class ParseError(DiffexploreError, ValueError):
    """A formula string could not be turned into a graph (names the column)."""


class MissingValueError(DiffexploreError, ValueError):
    """A variable of the graph has no value in ``at``."""


class DomainError(DiffexploreError, ArithmeticError):
    """A value fell outside an operation's domain (log of a negative, division by zero, overflow)."""


class ShapeError(DiffexploreError, ValueError):
    """Array shapes do not fit an operation (names both shapes)."""


class RuleError(DiffexploreError, NotImplementedError):
    """A primitive lacks the rule a computation asked for (names the primitive)."""


class SympyTimeout(DiffexploreError, TimeoutError):
    """A SymPy step ran past its time budget."""


class SizeLimitError(DiffexploreError, MemoryError):
    """A graph or report is larger than an operation can handle within its memory and time budget
    (names the limit and the size asked for)."""


class DotNotFound(DiffexploreError, RuntimeError):
    """The Graphviz ``dot`` executable is not installed."""


#: The exceptions a numeric implementation raises outside its domain (the evaluators report them as a
#: :class:`DomainError` naming the node).
DOMAIN_ERRORS = (ValueError, ZeroDivisionError, OverflowError, FloatingPointError)
