"""Start the Aurore web app: `python app.py` (see `python app.py --help`)."""

import sys

import aurore  # noqa: F401  (quiet TensorFlow before anything imports it)
from aurore.web.server import main

if __name__ == "__main__":
    sys.exit(main())
