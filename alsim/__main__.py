import sys

from alsim.cli import main

sys.exit(main())
