"""Show: the forward-mode seeds the explorer page offers, one per input (and the caller's own).

Forward mode needs one sweep per seed direction, so the page precomputes a sweep for each input: a
scalar input gets the seed 1, an array input the all-ones array of its shape (the page then shows the
directional derivative along it). A seed given as a mapping of values is offered as well, first.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DiffexploreError
from ..render.labels import format_value, shape_text

__all__ = ["Seed", "seed_options", "dotted", "MAX_SEEDS"]

#: Inputs beyond this many get no seed button (each seed is one more forward sweep and drawing).
MAX_SEEDS = 12


@dataclass(frozen=True)
class Seed:
    """A forward-mode seed: its label on the page and its direction (variable name -> tangent)."""

    label: str
    direction: dict


def dotted(name: str) -> str:
    """A variable's name with the tangent's dot over its first letter, as the trace tables write it.

    >>> dotted("x"), dotted("x1"), dotted("W2")
    ('ẋ', 'ẋ1', 'Ẇ2')
    """
    return unicodedata.normalize("NFC", name[0] + "\u0307" + name[1:])


def _unit(name: str, shape: tuple) -> Seed:
    if shape:
        return Seed(f"{dotted(name)} = ones({shape_text(shape)})", {name: np.ones(shape)})
    return Seed(f"{dotted(name)} = 1", {name: 1.0})


def seed_options(inputs: Sequence[str], shapes: Mapping[str, tuple],
                 seed: Mapping[str, Any] | str | None = None,
                 wrt: str | Sequence[str] | None = None,
                 limit: int = MAX_SEEDS) -> tuple[list[Seed], int, list[str]]:
    """The seeds to offer, the index of the one selected at first, and notes.

    The first selection is ``seed`` (a variable name or a mapping of tangents), else the one
    variable of ``wrt``, else the first input. At most ``limit`` inputs get a seed of their own.

    >>> seeds, selected, notes = seed_options(["x", "y"], {"x": (), "y": ()}, seed="y")
    >>> [s.label for s in seeds], selected, notes
    (['ẋ = 1', 'ẏ = 1'], 1, [])
    >>> seeds, selected, _ = seed_options(["x", "y"], {"x": (), "y": ()}, seed={"x": 1.0, "y": 0.5})
    >>> [s.label for s in seeds], selected
    (['ẋ = 1, ẏ = 0.5', 'ẋ = 1', 'ẏ = 1'], 0)
    """
    notes: list[str] = []
    offered = list(inputs[:limit])
    if len(inputs) > limit:
        notes.append(f"forward mode: seeds are offered for the first {limit} of {len(inputs)} inputs "
                     "(each seed is one more forward sweep)")
    seeds = [_unit(name, shapes[name]) for name in offered]
    if isinstance(wrt, str):
        wrt = [w for w in wrt.replace(",", " ").split() if w]
    if seed is None and wrt and len(wrt) == 1:
        seed = wrt[0]
    if seed is None:
        return seeds, 0, notes
    if isinstance(seed, str):
        if seed not in inputs:
            raise DiffexploreError(f"seed {seed!r} is not a variable of f "
                                   f"(its variables: {', '.join(inputs)})")
        if seed not in offered:
            seeds.append(_unit(seed, shapes[seed]))
        return seeds, next(k for k, s in enumerate(seeds) if s.direction.keys() == {seed}), notes
    unknown = [name for name in seed if name not in inputs]
    if unknown:
        raise DiffexploreError(f"seed names {', '.join(unknown)}: not variables of f "
                               f"(its variables: {', '.join(inputs)})")
    label = ", ".join(f"{dotted(name)} = {format_value(value)}" for name, value in seed.items())
    return [Seed(label, dict(seed))] + seeds, 0, notes
