"""Show: what each result type displays in a notebook, built with the machinery of :mod:`.notebook`.

One pair of functions per result: ``*_text`` (the one-to-three-line ``__repr__``) and ``*_html`` (or a
whole mime bundle). The result classes' display methods are one line each, calling these; nothing
here computes a derivative, it only lays out what a result already holds.

>>> import diffexplore as dx
>>> f = dx.parse("x*y")
>>> reverse_text(dx.reverse(f, {"x": 2.0, "y": 3.0}))
'<ReverseResult: value 6; gradient x = 3, y = 2; 3 nodes>'
"""

from __future__ import annotations

import html
from typing import Any

from ..formula import formula
from .notebook import (
    MAX_ROWS,
    code_html,
    drawing_png,
    figure_png,
    number,
    one_line,
    page_bundle,
    png_html,
    section_html,
    table_html,
    value_rows,
)

#: Entries of a gradient or point listed in a text repr; the rest are counted.
TEXT_ENTRIES = 4
#: Characters of a node's formula in a table.
CELL_FORMULA = 48
#: Lines of each sweep a trace table shows in a notebook (a 497-node graph has 497 and 662).
TRACE_ROWS = 1000


def _entries(values: dict, digits: int = 4) -> str:
    """``x = 3, y = 2`` (the first few, then how many more).

    >>> _entries({"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0, "e": 5.0})
    'a = 1, b = 2, c = 3, d = 4, … 1 more'
    """
    shown = [f"{name} = {number(value, digits)}" for name, value in list(values.items())[:TEXT_ENTRIES]]
    if len(values) > TEXT_ENTRIES:
        shown.append(f"… {len(values) - TEXT_ENTRIES} more")
    return ", ".join(shown)


def _node_cell(node: Any) -> str:
    return formula(node, max_length=CELL_FORMULA)


def _node_rows(order: list, columns: list) -> list[list[str]]:
    """One row per node, ``[formula, column(node) ...]``, for the first :data:`MAX_ROWS` nodes only (a
    million-node result is not written out to be cut), then a row saying how many more there are."""
    rows = [[_node_cell(n)] + [number(column[n]) for column in columns] for n in order[:MAX_ROWS]]
    if len(order) > MAX_ROWS:
        rows.append([f"… {len(order) - MAX_ROWS:,} more nodes"] + [""] * len(columns))
    return rows


# ---- evaluators' results ---------------------------------------------------------------------------


def _measured(result: Any) -> Any:
    """A result's memory report if it has been measured already, else None (a display never measures)."""
    from ..memory import MemoryReport
    memory = getattr(result, "_memory", None)
    return memory if isinstance(memory, MemoryReport) else None


def _memory_note(result: Any) -> list[str]:
    memory = _measured(result)
    return [f"memory: {memory_summary(memory)}"] if memory is not None else []


def forward_text(result: Any) -> str:
    """ForwardResult: value, tangent, seed, nodes."""
    seed = _entries(result.seed) if result.seed else "no seed"
    memory = _measured(result)
    return one_line("ForwardResult", f"value {number(result.value, 4)}",
                    f"tangent {number(result.tangent, 4)} for the seed {seed}", f"{len(result.order)} nodes",
                    f"memory: {memory_summary(memory)}" if memory is not None else "")


def forward_html(result: Any) -> str:
    """ForwardResult: value and tangent, then every node's primal and tangent."""
    tangents = {n: result.tangents.get(n, 0.0) for n in result.order[:MAX_ROWS]}
    rows = _node_rows(result.order, [result.primals, tangents])
    seed = _entries(result.seed) if result.seed else "no seed"
    return section_html(f"forward mode: value {number(result.value)}, tangent {number(result.tangent)} "
                        f"(seed {seed})", table_html(["node", "primal v", "tangent v̇"], rows, MAX_ROWS + 1),
                        notes=_memory_note(result))


def reverse_text(result: Any) -> str:
    """ReverseResult: value, gradient, nodes."""
    memory = _measured(result)
    return one_line("ReverseResult", f"value {number(result.value, 4)}",
                    f"gradient {_entries(result.gradient)}", f"{len(result.order)} nodes",
                    f"memory: {memory_summary(memory)}" if memory is not None else "")


def reverse_html(result: Any) -> str:
    """ReverseResult: value and gradient, then every node's primal and adjoint."""
    rows = _node_rows(result.order, [result.primals, result.adjoints])
    return section_html(f"reverse mode: value {number(result.value)}",
                        table_html(["variable", "∂f/∂variable"], value_rows(result.gradient)),
                        table_html(["node", "primal v", "adjoint v̄ = ∂f/∂v"], rows, MAX_ROWS + 1),
                        notes=_memory_note(result))


def size_html(size: Any) -> str:
    """Size: the four measures as a table."""
    tree = size.tree.exact if size.tree.exact is not None else size.tree.text()
    rows = [["nodes as a DAG (shared)", f"{size.dag_nodes:,}"],
            ["nodes as a tree (written out)", f"{tree:,}" if isinstance(tree, int) else tree],
            ["operations", f"{size.ops:,}"], ["depth", f"{size.depth:,}"]]
    return section_html("size", table_html(["measure", "count"], rows))


# ---- memory ------------------------------------------------------------------------------------------

#: How each method is named in a memory display.
_METHODS = {"evaluate": "evaluation", "forward": "forward mode", "reverse": "reverse mode"}


def _bytes(count: int) -> str:
    """Bytes as B, kB or MB (powers of 1000, three significant digits).

    >>> _bytes(512), _bytes(4_096), _bytes(2_621_440)
    ('512 B', '4.1 kB', '2.62 MB')
    """
    for unit, size in (("MB", 1_000_000), ("kB", 1_000)):
        if count >= size:
            return f"{count / size:.3g} {unit}"
    return f"{count} B"


def memory_summary(memory: Any) -> str:
    """A memory report in one phrase: the peak, what reverse mode stores, and with checkpoints the
    snapshots and the recomputation.

    >>> import diffexplore as dx
    >>> memory_summary(dx.memory("exp(exp(exp(x)))", {"x": 0.1}))
    'peak 5 values (40 B), stored 3 (24 B)'
    """
    text = f"peak {memory.peak_values:,} values ({_bytes(memory.peak_bytes)})"
    if memory.method == "reverse":          # evaluation and forward mode keep nothing for later
        text += f", stored {memory.stored_values:,} ({_bytes(memory.stored_bytes)})"
    if memory.checkpoints:
        text += f", {memory.checkpoints} snapshots, {memory.recomputed_ops:,} ops run again"
    return text


def memory_text(memory: Any) -> str:
    """MemoryReport: method and operations, then its numbers."""
    how = _METHODS.get(memory.method, memory.method)
    if memory.schedule is not None and memory.schedule.kind != "store-all":
        how += f", {memory.schedule.kind} checkpoints"
    return one_line("MemoryReport", f"{how}, {_plural(memory.ops, 'operation')}", memory_summary(memory))


def memory_html(memory: Any) -> str:
    """MemoryReport: values and bytes held at the peak and stored, recomputation, snapshots; the schedule
    that was run, in words."""
    rows = [["held at the peak", f"{memory.peak_values:,}", _bytes(memory.peak_bytes)],
            ["stored for the backward sweep", f"{memory.stored_values:,}", _bytes(memory.stored_bytes)]]
    counts = [["operations run again", f"{memory.recomputed_ops:,}"],
              ["snapshots held at once (checkpoints)", f"{memory.checkpoints:,}"]]
    notes = [memory.schedule.description] if memory.schedule is not None else []
    return section_html(f"memory of {_METHODS.get(memory.method, memory.method)} on "
                        f"{_plural(memory.ops, 'operation')} (lean sweep)",
                        table_html(["", "values", "bytes"], rows), table_html(["", "count"], counts),
                        notes=notes)


def schedule_text(schedule: Any) -> str:
    """Schedule: kind, snapshots, segments, actions, operations run again."""
    return one_line("Schedule", f"{schedule.kind}, {schedule.snapshots} snapshots",
                    f"{_plural(len(schedule.cuts) - 1, 'segment')}, "
                    f"{_plural(len(schedule.actions), 'action')}",
                    f"{_plural(schedule.recomputed_ops, 'operation')} run again")


def schedule_html(schedule: Any) -> str:
    """Schedule: how it was chosen, then its actions (over operation positions) as a table."""
    rows = [[str(k), action[0], _action_span(action),
             ", ".join(map(str, schedule.live.get(action[1], ()))) if action[0] == "snapshot" else ""]
            for k, action in enumerate(schedule.actions, start=1)]
    return section_html(f"checkpointing schedule: {schedule.kind}, {schedule.snapshots} snapshots, "
                        f"{_plural(schedule.recomputed_ops, 'operation')} run again",
                        f"<p>{html.escape(schedule.description)}</p>",
                        table_html(["step", "action", "on", "slots kept"], rows,
                                   align=["right", "left", "left", "left"]))


def _action_span(action: tuple) -> str:
    """What a schedule's action works on: operations a … b − 1, or a cut.

    >>> _action_span(("advance", 0, 1)), _action_span(("reverse", 2, 6)), _action_span(("snapshot", 2))
    ('operation 0', 'operations 2 … 5', 'cut 2 (before operation 2)')
    """
    if len(action) == 3:
        start, stop = action[1], action[2]
        return f"operation {start}" if stop - start == 1 else f"operations {start} … {stop - 1}"
    return f"cut {action[1]} (before operation {action[1]})"


def _plural(count: int, noun: str) -> str:
    """``1 operation``, ``3 operations``, ``1,000 operations``.

    >>> _plural(1, "operation"), _plural(1000, "operation")
    ('1 operation', '1,000 operations')
    """
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def memory_table_text(table: Any) -> str:
    """The memory report of :mod:`diffexplore.reports.memory`: family, sizes, trade-off."""
    ns = table.column("n")
    return one_line("MemoryTable", f"{table.family} ({table.description[:60]})",
                    f"n = {', '.join(map(str, ns[:8]))}{', …' if len(ns) > 8 else ''}",
                    f"trade-off at n = {table.trade_n}: {len(table.trade)} budgets" if table.trade else "")


def memory_table_bundle(table: Any) -> dict[str, Any]:
    """The memory report: its two tables with the plot under them (HTML), the Markdown, the PNG, text."""
    import base64
    headers, rows, trade_headers, trade_rows = table.tables()
    png = figure_png(table.plot())
    heading = f"memory: {table.family} ({table.description})"
    parts = [table_html(headers, rows)]
    if trade_rows:
        parts += [f"<p>{html.escape(table.trade_heading())}</p>", table_html(trade_headers, trade_rows)]
    parts.append(png_html(png, heading))
    return {"text/html": section_html(heading, *parts), "text/markdown": table.to_markdown(),
            "image/png": base64.b64encode(png).decode("ascii"), "text/plain": memory_table_text(table)}


# ---- compiled programs, networks, imports ----------------------------------------------------------


def compiled_html(compiled: Any) -> str:
    """Compiled: the program, highlighted."""
    forward, reverse = compiled.lines
    return section_html(f"compiled d/d({', '.join(compiled.wrt)}) of {formula(compiled.f, max_length=80)}: "
                        f"{forward} forward lines, {reverse} reverse lines", code_html(compiled.source))


def network_text(network: Any) -> str:
    """Network: loss size and parameters."""
    from ..graph import size
    shapes = {name: "×".join(map(str, shape)) for name, shape in network.parameters.items()}
    return one_line("Network", f"loss of {size(network.loss).dag_nodes:,} nodes",
                    f"{len(shapes)} parameters ({', '.join(f'{k} {v}' for k, v in list(shapes.items())[:4])}"
                    f"{', …' if len(shapes) > 4 else ''})")


def network_html(network: Any) -> str:
    """Network: its parameters and its named nodes."""
    from ..graph import size
    parameters = [[name, "×".join(map(str, shape)) or "scalar", network.kinds.get(name, "weight")]
                  for name, shape in network.parameters.items()]
    named = [[name, "×".join(map(str, node.shape)) or "scalar", _node_cell(node)]
             for name, node in network.nodes.items()]
    return section_html(f"network: loss {formula(network.loss, max_length=60)} "
                        f"({size(network.loss).dag_nodes:,} nodes)",
                        table_html(["parameter", "shape", "kind"], parameters, align=["left"] * 3),
                        table_html(["named node", "shape", "formula"], named, align=["left"] * 3))


def imported_html(imported: Any) -> str:
    """Imported: outputs, and each variable's framework path and value."""
    outputs = imported.output if isinstance(imported.output, tuple) else (imported.output,)
    rows = [[name, path, number(imported.point.get(name))] for name, path in imported.names.items()]
    return section_html(f"imported from {imported.source}: {len(outputs)} output(s) "
                        f"({', '.join(_node_cell(o) for o in outputs[:3])})",
                        table_html(["variable", f"{imported.source} path", "value at .point"], rows,
                                   align=["left", "left", "right"]),
                        notes=imported.notes)


def backprop_text(reference: Any) -> str:
    """TextbookBackprop: loss and layers."""
    return one_line("TextbookBackprop", f"loss {number(reference.loss, 6)}",
                    f"{len(reference.deltas)} layers (deltas, weight_gradients, bias_gradients)")


def backprop_html(reference: Any) -> str:
    """TextbookBackprop: one row per layer."""
    rows = [[str(layer), number(s), number(d), number(w), number(b)] for layer, (s, d, w, b) in enumerate(
        zip(reference.pre_activations, reference.deltas, reference.weight_gradients,
            reference.bias_gradients, strict=True), start=1)]
    return section_html(f"textbook backpropagation: loss E = {number(reference.loss)}",
                        table_html(["layer l", "s⁽ˡ⁾", "δ⁽ˡ⁾", "∂E/∂W⁽ˡ⁾", "∂E/∂b⁽ˡ⁾"], rows))


# ---- reports ----------------------------------------------------------------------------------------


def trace_text(table: Any) -> str:
    """TraceTable: function, lines, value and tangent."""
    return one_line("TraceTable", f"f = {table.function[:60]}",
                    f"{len(table.forward_rows)} forward and {len(table.adjoint_rows)} adjoint lines",
                    f"value {number(table.value, 5)}, tangent {number(table.tangent, 5)}")


def trace_html(table: Any) -> str:
    """TraceTable: the forward and the adjoint sweep as two tables."""
    title, forward_title, reverse_title = table.headings()
    forward = [[r.primal_text, table.cell(r.primal), r.tangent_text, table.cell(r.tangent)]
               for r in table.forward_rows]
    adjoint = [[r.text, table.cell(r.adds), table.cell(r.adjoint)] for r in table.adjoint_rows]
    limit = TRACE_ROWS
    return section_html(title, f"<p>{html.escape(forward_title)}</p>",
                        table_html(["primal trace", "value", "tangent trace", "value"], forward, limit,
                                   align=["left", "right", "left", "right"]),
                        f"<p>{html.escape(reverse_title)}</p>",
                        table_html(["adjoint trace", "adds", "adjoint"], adjoint, limit))


def plot_bundle(heading: str, headers: list[str], rows: list[list[str]], markdown: str, figure: Any,
                text: str, notes: list[str] = ()) -> dict[str, Any]:
    """A report's bundle: its table with its plot (a PNG) under it as HTML, Markdown, the PNG, text."""
    import base64
    png = figure_png(figure)
    return {"text/html": section_html(heading, table_html(headers, rows), png_html(png, heading),
                                      notes=notes),
            "text/markdown": markdown, "image/png": base64.b64encode(png).decode("ascii"),
            "text/plain": text}


def sweep_text(sweep: Any) -> str:
    """StepSweep: the function, the steps, the best central step."""
    best = ""
    if "central" in sweep.best:
        step, error = sweep.best["central"]
        best = f"best central h = {step:.1e} (error {error:.1e})"
    return one_line("StepSweep", f"d/d{sweep.wrt} of {sweep.function[:60]}", f"{len(sweep.steps)} steps h",
                    best)


def cost_text(table: Any) -> str:
    """CostTable: the function and its widths."""
    widths = ", ".join(str(r.width) for r in table.rows)
    return one_line("CostTable", f"full gradient of {table.function}", f"W = {widths}",
                    "timed" if any(r.seconds for r in table.rows) else "")


def swell_text(report: Any) -> str:
    """SwellReport: family and sizes."""
    ns = report.column("n")
    return one_line("SwellReport", f"{report.family} ({report.description[:60]})",
                    f"n = {', '.join(map(str, ns[:8]))}{', …' if len(ns) > 8 else ''}",
                    f"{len(report.keys)} columns")


def comparison_text(comparison: Any) -> str:
    """MethodComparison: value and largest difference from reverse mode."""
    worst = max((abs(r["difference"]) for r in comparison.rows), default=0.0)
    return one_line("MethodComparison", f"value {number(comparison.value, 6)}",
                    f"{len(comparison.rows)} derivatives, largest difference from reverse mode {worst:.2g}")


def comparison_html(comparison: Any) -> str:
    """MethodComparison: one row per method and variable."""
    rows = [[r["variable"], r["method"], repr(r["derivative"]), f"{r['difference']:.3g}"]
            for r in comparison.rows]
    return section_html(f"value f = {comparison.value!r}",
                        table_html(["d/d", "method", "derivative", "minus reverse"], rows,
                                   align=["left", "left", "right", "right"]))


def check_text(check: Any) -> str:
    """GradCheck: the point and the largest differences."""
    worst = ", ".join(f"{mode} order {k}: {e:.2g}" for (mode, k), e in check.errors.items())
    return one_line("GradCheck", f"passed at {_entries(check.point)}", f"largest differences {worst}")


# ---- the explorer -----------------------------------------------------------------------------------


def explorer_text(page: Any) -> str:
    """Explorer: formula, steps, page size."""
    return one_line("Explorer", page.title, f"{len(page.steps)} steps",
                    f"{len(page.html) / 1000:,.0f} kB page; .save(path) writes it")


def explorer_bundle(page: Any, height: int) -> dict[str, Any]:
    """Explorer: the page in a sandboxed iframe, a static PNG of its first view (none when it cannot be
    drawn: the page still shows), a short text."""
    from ..errors import DiffexploreError
    try:
        png = drawing_png(page.first_view()) if page.first_view is not None else None
    except DiffexploreError:
        png = None
    return page_bundle(page.html, png, height, "diffexplore explorer", explorer_text(page))
