"""The package's version, in one place (read by the package and by pages that name their maker)."""

__version__ = "0.1.0"
