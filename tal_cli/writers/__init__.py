"""Writing output files: every file ``tal`` writes goes through here.

- :mod:`.files` atomic writes (a temporary file in the same folder, renamed into place; an
  error or Ctrl-C leaves no partial file), several files into one folder (``write_files``),
  and checks that outputs can be written before work starts.
"""
