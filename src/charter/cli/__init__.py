"""The ``charter`` command line: thin commands over the Python API; errors become exit codes in main.py."""
