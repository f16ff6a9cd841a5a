"""The benchmark cases, one module per topic.

A topic's module holds its data builders, fastlin's call and the peer's call, so that the
pytest-benchmark file and the report script time the same work. ``data`` builds the
MNIST-sized and float designs several topics share, ``timing`` the best-of and
interleaved timers of the reports, ``memory`` their peak-memory probes.
"""
