"""The edges: what turns models into files, figures and commands.

- ``persistence``: versioned ``.npz`` files and checkpoints; ``model_files``: saving and
  loading estimators through them;
- ``cli``: the ``fastlin`` command line; ``report``: the diagnostic report command;
- ``plot``: figures (matplotlib, optional).
"""
