"""The headless command line: python -m gan_core list | train | sample | eval | export."""

from .commands import main

__all__ = ["main"]
