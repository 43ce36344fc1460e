"""List every model variant, its parameter count and where its weights were found."""
from __future__ import annotations

import argparse
import json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace) -> int:
    from engine import zoo

    rows = zoo.describe()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'model':<18} {'task':<8} {'scale':>5} {'parameters':>12}  weights")
    for r in rows:
        print(f"{r['name']:<18} {r['task']:<8} {'x' + str(r['scale']):>5} {r['parameters']:>12,}  "
              f"{r['weights'] or 'not found'}")
    print(f"\nsearch order: explicit path, then {', '.join(str(d) for d in zoo.search_dirs())}")
    return 0
