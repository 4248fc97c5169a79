"""Entry point of ``python -m ml.simulate``."""

import sys

from ml.simulate.cli import main

sys.exit(main())
