"""The errors a data source raises: each names the file and byte offset, or the row
and column, of what is wrong."""

from __future__ import annotations


class DataSourceError(ValueError):
    """A data file or array cannot be read as asked. Base of every error in this module."""


class IDXFormatError(DataSourceError):
    """An IDX file's header or size does not match the IDX format or the header itself."""


class NpyFormatError(DataSourceError):
    """A ``.npy`` file cannot be memory-mapped or its size does not match its header."""


class CorruptStreamError(DataSourceError):
    """A gzip stream is damaged: CRC mismatch, invalid deflate data or a cut-off stream.

    May be raised after the last chunk was yielded (the CRC is checked at the end of the
    stream); a fit that sees it must be discarded.
    """


class LabelError(DataSourceError):
    """Targets do not fit the features: wrong count, wrong shape, or a label out of range."""


class SourceChangedError(DataSourceError):
    """A file changed (size or modification time) between opening the source and reading."""
