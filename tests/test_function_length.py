"""Issue 40: the finder is orchestration over small steps: no function in dupbench/finder over 60 lines."""

from __future__ import annotations

import ast

from experiments.paths import REPO_ROOT

LIMIT = 60


def test_no_function_in_the_finder_is_over_60_lines():
    long = []
    for path in sorted((REPO_ROOT / "dupbench" / "finder").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > LIMIT:
                    long.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, long
