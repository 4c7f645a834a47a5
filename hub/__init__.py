"""Remote participation hub for multistakeholder meetings."""

__version__ = "0.1.0"
