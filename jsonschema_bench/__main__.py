"""``python -m jsonschema_bench <mode> ...``."""

import sys

from jsonschema_bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
