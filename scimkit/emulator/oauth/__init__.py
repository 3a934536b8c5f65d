"""OAuth machine-to-machine: service principal secrets, OIDC discovery and the token endpoints."""
