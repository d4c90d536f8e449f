"""The house style that ruff does not check (docs/development.md): a docstring's summary line is at most 100 characters."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src"
LIMIT = 100


def long_summaries(root: Path) -> list[str]:
    """'<file>:<line> <name> (<length>)' of every module, class and function whose summary line is too long."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                doc = ast.get_docstring(node)
                if doc and len(summary := doc.splitlines()[0]) > LIMIT:
                    found.append(f"{path.relative_to(root)}:{getattr(node, 'lineno', 1)} "
                                 f"{getattr(node, 'name', '<module>')} ({len(summary)})")
    return found


def test_every_docstring_summary_fits_in_100_characters():
    too_long = [f for f in long_summaries(SRC)]
    assert not too_long, "docstring summaries over 100 characters:\n" + "\n".join(too_long)


def test_the_check_finds_a_long_summary(tmp_path):
    (tmp_path / "m.py").write_text(f'"""{"x" * 101}"""\n\n\ndef f():\n    """{"y" * 100}"""\n')
    assert long_summaries(tmp_path) == ["m.py:1 <module> (101)"]
