"""The figure registry: every public module in this folder is one figure, read without importing it.

A private module (`_plotting`: the style and helpers the figures share) is not a figure, and `inspection/`
holds the per-model figures.

A figure module has a docstring (its caption), `TABLES` (a dict literal:
draw() argument -> the table it reads) and `draw(...) -> Figure`. draw()'s
other arguments are either context the workflow supplies (`models`,
`class_names`, `run`, `pairs`) or options with defaults, set per figure under
`figures.<name>` in the config. This registry reads those declarations from
the module's source (ast), so the workflow checks every option when it parses
without importing matplotlib. One wildcard rule (`figure` in
workflow/rules/figures.smk) draws any of them; the module's file is an input
of the rule, so editing one figure reruns that figure alone.

Adding a figure is one module here and its test.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

CONTEXT = ("models", "class_names", "run", "pairs")


class FigureDeclarationError(ValueError):
    """A figure module whose TABLES or draw() the registry cannot use."""


@dataclass(frozen=True)
class FigureSpec:
    """A figure module's declarations, read from its source."""
    name: str
    tables: dict[str, str]  # draw() argument -> table name
    context: tuple[str, ...]  # draw() arguments the workflow supplies
    options: dict[str, object]  # draw() option -> default
    description: str
    module_file: str


def read_spec(path: Path) -> FigureSpec:
    """The declarations of one figure module, read with ast; FigureDeclarationError when unusable."""
    tree = ast.parse(path.read_text(), filename=str(path))
    tables, draw = None, None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "TABLES" for t in node.targets):
            tables = ast.literal_eval(node.value)
        if isinstance(node, ast.FunctionDef) and node.name == "draw":
            draw = node
    if tables is None or draw is None:
        raise FigureDeclarationError(f"{path}: a figure module declares TABLES and defines draw()")
    arguments = draw.args.args + draw.args.kwonlyargs
    defaults = dict(zip([a.arg for a in draw.args.args][len(draw.args.args) - len(draw.args.defaults):],
                        draw.args.defaults))
    defaults.update({a.arg: d for a, d in zip(draw.args.kwonlyargs, draw.args.kw_defaults) if d is not None})
    names = [a.arg for a in arguments]
    unknown = [t for t in tables if t not in names]
    if unknown:
        raise FigureDeclarationError(f"{path}: TABLES names {unknown}, which draw() does not take")
    options, context = {}, []
    for name in names:
        if name in tables:
            continue
        if name in CONTEXT:
            context.append(name)
        elif name in defaults:
            options[name] = ast.literal_eval(defaults[name])
        else:
            raise FigureDeclarationError(
                f"{path}: draw() argument {name!r} is neither a table, nor context {CONTEXT}, nor an option "
                "with a default")
    return FigureSpec(path.stem, dict(tables), tuple(context), options, ast.get_docstring(tree) or "", str(path))


FIGURES: dict[str, FigureSpec] = {
    path.stem: read_spec(path) for path in sorted(Path(__file__).parent.glob("*.py"))
    if not path.stem.startswith("_")
}


def figure_spec(name: str) -> FigureSpec:
    """The registered figure `name`; KeyError listing the figures when there is none."""
    try:
        return FIGURES[name]
    except KeyError:
        raise KeyError(f"unknown figure {name!r}; figures: {list(FIGURES)}") from None


def check_options(name: str, options: Mapping) -> list[str]:
    """Problems with the config's options for one figure, each naming the key (empty: fine)."""
    if name not in FIGURES:
        return [f"figures.{name}: unknown figure; figures are {list(FIGURES)}"]
    known = FIGURES[name].options
    return [f"figures.{name}.{option}: {name}.draw() has no option {option!r}; its options: {sorted(known)}"
            for option in options if option not in known]


def render(name: str, inputs: Mapping[str, str], outputs: Sequence[str], arguments: Mapping) -> None:
    """Draw one figure from its input tables and save it to every output.

    `inputs` maps each draw() argument to a Parquet path.
    """
    import importlib

    import pandas as pd

    from ._plotting import save

    spec = figure_spec(name)
    module = importlib.import_module(f"{__name__}.{name}")
    tables = {argument: pd.read_parquet(inputs[argument]) for argument in spec.tables}
    save(module.draw(**tables, **arguments), outputs)
