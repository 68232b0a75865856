"""The README's list of supported operations is the one the converters' tables give."""

from pathlib import Path

from diffexplore.imports.catalog import markdown, numpy_operations

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN, END = "<!-- supported operations: begin -->", "<!-- supported operations: end -->"


def test_the_readme_lists_the_operations_the_tables_convert():
    text = README.read_text(encoding="utf-8")
    listed = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert listed == markdown(), ("README.md's supported operations are out of date; put this between the "
                                  f"markers:\n{markdown()}")


def test_the_numpy_list_holds_the_issues_operations():
    listed = set(numpy_operations())
    for name in ("matmul", "dot", "einsum", "sum", "mean", "max", "min", "prod", "where", "concatenate",
                 "stack", "exp", "log", "log1p", "expm1", "sqrt", "square", "sin", "cos", "tan", "sinh",
                 "cosh", "tanh", "arctan", "absolute", "maximum", "minimum", "clip", "power"):
        assert f"np.{name}" in listed, name
