"""geocover: who can reach care, and where to build next."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("geocover")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
