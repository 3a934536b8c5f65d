"""The Entra ID family: the Microsoft identity platform token endpoint and Microsoft Graph v1.0
reads, delta queries and the few writes tests use, seeded from `sample_data/entra_tenant.json`
(routes in `routes`, tenant state and its change log in `rules`, delta rounds and tokens in `delta`)."""
