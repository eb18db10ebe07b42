"""Point a copied or moved MLflow store at its own artifact folder.

MLflow records artifact locations as absolute ``file://`` URIs, so a copied ``results/`` keeps
writing artifacts into the clone it was copied from (``experiments.lib.store``). Copy or move
``results/`` as a whole, then::

    python -m experiments.move_store results/mlflow.db /old/clone/results/mlartifacts \
        results/mlartifacts

Setup prints this line with the paths filled in when it sees a copied store.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from experiments.lib.store import StoreError, rebase_artifacts


def main(argv: Sequence[str] | None = None) -> None:
    """Rewrite the store's artifact URIs from ``OLD_ROOT`` to ``NEW_ROOT``; exit 2 on bad input."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path, help="the copied store, e.g. results/mlflow.db")
    parser.add_argument("old_root", type=Path, help="absolute artifact folder it names now")
    parser.add_argument("new_root", type=Path, help="its copy, e.g. results/mlartifacts")
    args = parser.parse_args(argv)
    try:
        count = rebase_artifacts(args.db, args.old_root, args.new_root)
    except StoreError as err:
        parser.exit(2, f"error: {err}\n")
    print(f"{count} artifact records of {args.db} now point into {args.new_root.resolve()}")


if __name__ == "__main__":
    main()
