"""``python -m geocover``: the ``geocover`` command line (see :mod:`geocover.cli`)."""

import sys

from geocover.cli import main

sys.exit(main())
