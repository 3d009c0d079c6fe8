import base64

import pytest

from conftest import case_table
from orange_token_client import is_auth_failure

CASES = case_table("auth-failures.json")


def test_the_shared_table_has_cases():
    assert len(CASES) > 50


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_auth_failure_case(case):
    body = base64.b64decode(case["body_base64"]) if "body_base64" in case else case["body"]
    assert is_auth_failure(case["status"], body) is case["auth_failure"]
    if isinstance(body, str):
        assert is_auth_failure(case["status"], body.encode()) is case["auth_failure"]


def test_a_missing_body_counts_by_its_status_only():
    assert is_auth_failure(401, None)
    assert is_auth_failure(403, None)
    assert not is_auth_failure(400, None)


def test_json_that_only_python_would_accept_is_not_json():
    assert not is_auth_failure(400, '{"code": NaN, "error": "invalid_token"}')
    assert not is_auth_failure(400, '{"code": 42}'.encode("utf-16"))
