#!/usr/bin/env python3
"""Parses PowerShell files with the tree-sitter PowerShell grammar and fails on any
syntax error, printing file, line, column and the offending text.

PowerShell itself cannot be installed where exomatrix is developed and tested, so
this is the check that a script (and the migrate.ps1 files the planner writes) at
least parses. The grammar does not accept bareword lists such as
`-Property Id, Name`; quote such values (`-Property 'Id', 'Name'`).

Usage: scripts/check-powershell-syntax.py FILE.ps1 [...]
Needs: pip install tree-sitter tree-sitter-powershell
"""
import sys

import tree_sitter
import tree_sitter_powershell

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))


def problems(source: bytes):
    """The ERROR and MISSING nodes of a parse, in source order."""
    found = []
    stack = [PARSER.parse(source).root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            found.append(node)
        stack.extend(reversed(node.children))
    return sorted(found, key=lambda n: n.start_byte)


def main(paths):
    failed = 0
    for path in paths:
        with open(path, "rb") as f:
            source = f.read()
        for node in problems(source):
            failed += 1
            row, column = node.start_point
            line = source.splitlines()[row].decode("utf-8", "replace") if source else ""
            kind = "missing " + node.type if node.is_missing else "syntax error"
            print(f"{path}:{row + 1}:{column + 1}: {kind}\n    {line}\n    {' ' * column}^")
    if failed:
        print(f"{failed} problem(s) found")
        return 1
    print(f"{len(paths)} file(s) parse cleanly")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
