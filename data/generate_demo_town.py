"""Generate the demo town and write it to data/demo_town (see data/README.md).

Usage: ``python data/generate_demo_town.py [--seed N] [--out data/demo_town]``
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from gridsvc.domain.demo_town import DEFAULT_SEED, generate, write


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, generate the town and write its files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "demo_town",
        help="output folder (default: data/demo_town next to this script)",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    town = generate(args.seed)
    files = write(town, args.out)
    for path in files:
        print(f"{path}  {path.stat().st_size / 1024:8.1f} KiB")
    print(f"seed {args.seed}: {len(files)} files in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
