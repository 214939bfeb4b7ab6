"""``python -m qmac``: the command line."""

import sys

from qmac.cli import main

sys.exit(main())
