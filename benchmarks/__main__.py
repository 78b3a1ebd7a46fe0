"""``python -m benchmarks [--quick]``: see benchmarks/harness.py."""

from __future__ import annotations

import sys

from benchmarks.harness import main

if __name__ == "__main__":
    sys.exit(main())
