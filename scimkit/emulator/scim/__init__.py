"""Account SCIM v2 (users, groups, service principals), workspaces and workspace assignment.

`routes` (wire: paths, query values, bodies) | `rules` (identity rules, PATCH semantics, state) |
`filters` (SCIM filter parsing and matching).
"""
