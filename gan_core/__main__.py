"""Entry point: python -m gan_core."""

import sys

from .cli import main

sys.exit(main())
