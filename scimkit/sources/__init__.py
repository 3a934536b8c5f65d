"""The identity provider's side: sources that say who should exist and where.

Every source yields `SourceIdentities` (`records.py`), whatever it reads: the HR roster CSV
(`roster.py`), Entra ID through msal and Microsoft Graph (`entra.py`).
"""

from .entra import EntraCredentials, EntraError, EntraTokens, GraphReader, credentials_strategy
from .records import SourceGroup, SourceIdentities, SourcePerson
from .roster import RosterInvalid, RosterProblem, read_roster, validate_roster

__all__ = ["EntraCredentials", "EntraError", "EntraTokens", "GraphReader", "RosterInvalid", "RosterProblem", "SourceGroup", "SourceIdentities", "SourcePerson", "read_roster",
           "validate_roster", "credentials_strategy"]
