"""``python -m minigen``: the same command line as the ``minigen`` console script."""

from minigen.cli import console_main

console_main()
