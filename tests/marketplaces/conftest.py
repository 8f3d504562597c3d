import pytest

BASE = "/api/v1/config-objects"

SKILL_V1 = """---
name: Summarize tickets
description: Turns a support thread into three bullet points.
---
Read the thread, then write three bullets.
"""

SKILL_V2 = SKILL_V1.replace("three bullets.", "three short bullets.\nEnd with the customer's mood.")


@pytest.fixture
def admin_api(api, org_key):
    return api(org_key.token)


@pytest.fixture
def create(admin_api):
    """create(**overrides) -> the JSON item of a new config object (a skill unless told otherwise)."""

    def make(type_="skill", raw=SKILL_V1, source_mode="cloud", client=None, **input_extra):
        body = {"type": type_, "sourceMode": source_mode, "input": {"rawSourceText": raw, **input_extra}}
        if raw is None:
            del body["input"]["rawSourceText"]
        response = (client or admin_api).post(BASE, body, format="json")
        assert response.status_code == 201, response.json()
        return response.json()["item"]

    return make


def add_version(client, object_id, raw, if_match=None, **body):
    headers = {"HTTP_IF_MATCH": f'"{if_match}"'} if if_match else {}
    return client.post(f"{BASE}/{object_id}/versions", {"input": {"rawSourceText": raw}, **body}, format="json",
                       **headers)
