"""``python -m wattmeter``: the same as the ``wattmeter`` command."""

import sys

from .cli import main

sys.exit(main())
