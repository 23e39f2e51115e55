"""One module per CLI command, each a thin layer over a library function: parse, call, print.

:mod:`.options` declares every argument and option once; :mod:`.common` holds the consoles,
the ``Error:`` line and the gate exit. These are the only modules that print.
"""
