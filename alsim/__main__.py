"""``python -m alsim``: the ``alsim`` command line."""

import sys

from alsim.cli import main

sys.exit(main())
