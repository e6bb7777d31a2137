"""CERTOPS_CREDENTIALS: one JSON secret for every node account."""

from __future__ import annotations

import json

import pytest

from reconciler.usecases.credentials import CredentialsInvalid, with_credentials


def test_names_from_the_json_and_a_variable_of_its_own_wins() -> None:
    env = {"CERTOPS_CREDENTIALS": json.dumps({"EXPE1_USER": "a", "EXPE1_PASSWORD": "p1"}),
           "EXPE1_USER": "b"}
    out = with_credentials(env)
    assert out["EXPE1_USER"] == "b" and out["EXPE1_PASSWORD"] == "p1"
    assert with_credentials({"X": "1"}) == {"X": "1"}


@pytest.mark.parametrize("text", ["{not json: s3cr3t-value", '["s3cr3t-value"]',
                                  '{"EXPE1_PASSWORD": 7}'])
def test_an_invalid_document_is_refused_without_its_values(text: str) -> None:
    with pytest.raises(CredentialsInvalid) as caught:
        with_credentials({"CERTOPS_CREDENTIALS": text})
    assert "s3cr3t" not in str(caught.value) and "7" not in str(caught.value)
