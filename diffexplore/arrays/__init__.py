"""Build: array primitives, one rule-table block each (the public names, re-exported).

:mod:`.core` holds the tensor operations (``matmul``, ``transpose``, ``reshape``, ``sum``, ``mean``,
``concatenate``, indexing with ``take``/``Index``, ``one_hot``); :mod:`.layers` the neural-network units
(``log_softmax``, ``softmax_cross_entropy``, ``conv2d``, ``max_pool2d``, ``dropout``, ``batch_norm``);
:mod:`.helpers` the shape and attribute helpers they share. Importing this package registers every
array primitive in the rule table.

>>> import diffexplore as dx
>>> W, x = dx.variable("W", shape=(3, 4)), dx.variable("x", shape=(4, 2))
>>> dx.sum(dx.log_softmax(W @ x, axis=0)).shape
()
"""

from .core import Index, concatenate, matmul, max, mean, min, one_hot, prod, reshape, sum, take, transpose
from .layers import batch_norm, conv2d, dropout, log_softmax, max_pool2d, softmax_cross_entropy

__all__ = [
    "matmul", "transpose", "reshape", "sum", "mean", "max", "min", "prod", "concatenate", "take", "one_hot",
    "Index",
    "log_softmax", "softmax_cross_entropy", "conv2d", "max_pool2d", "dropout", "batch_norm",
]
