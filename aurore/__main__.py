"""`python -m aurore …` entry point."""

import sys

from aurore.cli import main

sys.exit(main())
