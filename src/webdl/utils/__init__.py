"""``webdl.utils``: data loading (``webdl.utils.data``)."""
from . import data  # noqa: F401
