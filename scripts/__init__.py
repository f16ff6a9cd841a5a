"""Report scripts: each ``bench_<topic>`` module prints a ratio table of fastlin against
its peer, measured in one run. Run them from the repository root as modules, e.g.
``python -m scripts.bench_gram --help``; their cases come from ``benchmarks.cases``.
(``scripts/examples/`` is the example gallery, whose scripts run as files.)
"""
