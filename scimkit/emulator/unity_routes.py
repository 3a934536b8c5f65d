"""Unity Catalog routes (per workspace). Built in issue 3."""

from __future__ import annotations

from .wire import Route

ROUTES: list[Route] = []
