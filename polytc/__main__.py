"""``python -m polytc``: the ``polytc`` command line (see :mod:`polytc.cli`)."""
import sys

from polytc.cli import main

if __name__ == "__main__":
    sys.exit(main())
