"""How long a password check takes (issue 12: 50-500 ms), for the parameters gridsvc uses and
a few others, so the choice in ``gridsvc/domain/accounts/credentials.py`` can be re-made on a
new machine.

    .venv/bin/python bench/passwords.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

from argon2 import PasswordHasher

from gridsvc.domain.accounts import credentials

CANDIDATES = [(2, 19 * 1024), (2, 64 * 1024), (3, 64 * 1024), (4, 64 * 1024), (3, 128 * 1024)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    ours = (credentials.ARGON2_TIME_COST, credentials.ARGON2_MEMORY_KIB)
    print("Argon2id, one lane: median time of a check (verify)")
    for t, m in CANDIDATES:
        hasher = PasswordHasher(time_cost=t, memory_cost=m, parallelism=1)
        stored = hasher.hash("a password of twenty")
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            hasher.verify(stored, "a password of twenty")
            times.append(time.perf_counter() - start)
        mark = "  <- gridsvc" if (t, m) == ours else ""
        print(f"  time_cost={t} memory={m // 1024:>3} MiB: {statistics.median(times) * 1e3:6.1f} ms"
              f"{mark}")


if __name__ == "__main__":
    main()
