"""Unity Catalog, per workspace: metastores, the securable tree, owners, grants, effective permissions.

`routes` (wire: paths, paging tokens, bodies) | `rules` (privileges, inheritance, state).
"""
