"""The Entra ID family: the Microsoft identity platform token endpoint and Microsoft Graph v1.0
reads, seeded from `sample_data/entra_tenant.json` (routes in `routes`, tenant state in `rules`)."""
