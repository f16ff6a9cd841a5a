"""Chunked data sources: IDX files (raw or gzip), ``.npy`` files and in-memory arrays.

The data layer, one module per concern: ``sources`` (the protocol and the array, ``.npy``
and IDX sources), ``opening`` (``open_source`` and the constructors), ``idx`` (the IDX
format and writer), ``files`` (fingerprints, gzip reading), ``errors``, ``tabular``
(Parquet, Arrow, CSV) with ``parquet_footer``, ``sliced`` (HDF5, Zarr), ``chunks``
(iterables of chunks), ``datasets`` (MNIST, synthetic digits), and ``fold``: the fold
engine that drives every accumulator over any of them.

Every fit path reads rows through one protocol, :class:`ChunkSource`::

    source = open_source("train-images-idx3-ubyte.gz", labels="train-labels-idx1-ubyte.gz")
    for X_chunk, y_chunk in source.iter_chunks(chunk_rows=8192):
        state.update(X_chunk, y_chunk)

``X_chunk`` has shape ``(rows, source.n_features)`` (images are flattened, C order, so an
MNIST chunk is ``(rows, 784)`` uint8) and ``y_chunk`` is the matching slice of the
targets, or ``None`` for a source without targets. X is never loaded whole: raw IDX files
are read chunk by chunk with ``readinto``, gzip files are decompressed as a stream (zlib
bound: about 0.5 s for the 47 MB of 60000 MNIST-sized images on this class of machine),
``.npy`` files are memory-mapped and sliced. Targets (one value per row) are memory-mapped
from raw files and read whole from gzip files.

Chunks
------
* Every chunk is a **read-only** array in native byte order. Read-only keeps a consumer
  from writing into a caller's array or a memory map by accident, and gives Numba one
  array type to compile for whatever the source. Copy a chunk to modify it.
* A chunk stays valid after the next one is requested (fresh arrays or views, never a
  reused buffer), so ``list(source.iter_chunks(...))`` is safe. A reused read buffer was
  measured and is not worth the trap: reading 60000 x 784 uint8 rows from the page cache
  into fresh arrays took 11-17 ms against 6-8 ms into one reused buffer, and with a
  consumer that reads every byte (column sums) the totals were within noise of each other
  (31-40 ms against 36-41 ms), all small next to the ~0.1 s of the Gram statistics.
* ``.npy`` and array chunks are views and keep the memory layout of the source: a
  Fortran-ordered array gives strided row slices. IDX chunks are C-contiguous.
* ``.npy`` files and raw IDX label files are memory-mapped: truncating one in place while
  a source reads it can kill the process (SIGBUS), as with any memory map. Replace files
  by renaming a new file into place (what :class:`IDXWriter` does); a rewrite is then
  reported as :class:`SourceChangedError` by the next ``iter_chunks``.

Errors and when they surface
----------------------------
All file errors derive from :class:`DataSourceError` (a ``ValueError``) and name the file,
what was expected and what was found, with the byte offset where it helps.

Headers, sizes, label ranges and image/label counts are checked when the source is opened,
before any chunk is yielded. For a gzip file the uncompressed size is checked against the
size stored in the gzip trailer (ISIZE, modulo 2**32); when the two disagree (a truncated
file, or a file made of several gzip members) the stream is decompressed once at open to
count its bytes. Damage inside a gzip stream (flipped bits) can only be detected when the
CRC is checked at the end of the stream, after the last chunk was yielded, or when zlib
meets an invalid code: :class:`CorruptStreamError` is then raised from ``iter_chunks``.
**A consumer must treat a fit as failed unless the iterator ran to its end without
raising**; the estimators commit a model only then. ``iter_chunks`` on a gzip source
always decompresses to the end of the stream (also when resuming at ``start_row``), so the
CRC covers every byte, unless ``stop_row`` ends the read early.
"""

from .errors import (
    CorruptStreamError,
    DataSourceError,
    IDXFormatError,
    LabelError,
    NpyFormatError,
    SourceChangedError,
)
from .files import DEFAULT_CHUNK_BYTES, default_chunk_rows
from .idx import IDXHeader, IDXWriter, read_idx, read_idx_header, write_idx
from .opening import from_arrays, open_idx, open_npy, open_source
from .sources import ArraySource, ChunkSource, IDXSource, NpySource

__all__ = [
    "DataSourceError",
    "IDXFormatError",
    "NpyFormatError",
    "CorruptStreamError",
    "LabelError",
    "SourceChangedError",
    "ChunkSource",
    "ArraySource",
    "NpySource",
    "IDXSource",
    "IDXHeader",
    "IDXWriter",
    "open_idx",
    "open_npy",
    "from_arrays",
    "open_source",
    "read_idx",
    "read_idx_header",
    "write_idx",
    "default_chunk_rows",
    "DEFAULT_CHUNK_BYTES",
]
