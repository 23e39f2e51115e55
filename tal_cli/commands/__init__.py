"""One module per CLI command, each a thin layer over a library function: parse, call, print.

- :mod:`.assign`, :mod:`.sweep`, :mod:`.check`, :mod:`.export`: the command of that name
- :mod:`.train`   ``tal train`` and ``tal train-report``
- :mod:`.options` every argument and option, declared once
- :mod:`.common`  the consoles, the ``Error:`` line, the gate exit, the progress bar

These are the only modules that print; ``tal_cli.cli`` assembles them into the app.
"""
