"""``python -m wattmeter.cli``."""

import sys

from . import main

sys.exit(main())
