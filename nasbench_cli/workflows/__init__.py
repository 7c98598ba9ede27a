"""One module per job (score, search, correlate, plot, kernels, report; data still lives in its
command): typed options in, a result with its provenance record out.

The interfaces (``commands/`` for the CLI, ``api`` for Python) parse options, call a workflow and
write or return what it gives; nothing here imports them or writes a file.
"""
