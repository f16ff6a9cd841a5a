"""Numba kernels: plain functions on NumPy arrays, no validation, outputs passed in.

One module per family. Importing a module defines its kernels; nothing compiles until a
kernel first runs (or is loaded from Numba's on-disk cache).
"""
