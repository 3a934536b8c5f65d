"""How a failed read is worded in the completeness table, the CLI and the report."""

from databricks.sdk.errors import InternalError

from scimkit.parallel import describe_error


def test_a_scim_error_without_scim_type_is_worded_without_the_sdks_none() -> None:
    # The SDK builds SCIM errors as f"{scimType} {detail}", so an absent scimType reads "None ...".
    error = InternalError(detail="Injected fault: HTTP 500.", scimType=None, status="500")
    assert describe_error(error) == "InternalError SCIM_500: Injected fault: HTTP 500."


def test_a_scim_error_with_a_scim_type_keeps_it() -> None:
    error = InternalError(detail="bad filter", scimType="invalidFilter", status="400")
    assert describe_error(error) == "InternalError SCIM_400: invalidFilter bad filter"
