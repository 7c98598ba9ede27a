"""One module per job (score, search, correlate, plot, kernels, report, data): typed options in, a
result with its provenance record out.

The interfaces (``commands/`` for the CLI, ``api`` for Python) parse options, call a workflow and
write or return what it gives; nothing here imports them or writes a file (but the data
conversion, whose job is the table).
"""
