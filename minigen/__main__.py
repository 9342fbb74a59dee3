"""``python -m minigen``: the same command line as the ``minigen`` console script."""

from minigen.cli import main

raise SystemExit(main())
