"""``python -m tal_cli``: the same as the ``tal`` command."""

from .cli import main

main()
