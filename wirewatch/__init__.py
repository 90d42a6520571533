"""The ``wirewatch`` command line and the jobs built from pipeline stages (demo, run, benchmarks).

Imports :mod:`pipeline` and :mod:`workers`; neither imports it.
"""
