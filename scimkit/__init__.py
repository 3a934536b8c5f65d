"""scimkit: know and change who can access what in a Databricks account."""

from .connect import Account, connect

__version__ = "0.1.0"
__all__ = ["Account", "connect"]
