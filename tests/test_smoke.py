def test_viewer(gql, account):
    r = gql("{ viewer { kind role account { name timezone } } }", token=account.admin_token)
    assert r["data"] == {
        "viewer": {
            "kind": "STAFF",
            "role": "admin",
            "account": {"name": "Stadsschouwburg Test", "timezone": "Europe/Amsterdam"},
        }
    }


def test_create_and_list(gql, account):
    r = gql(
        """mutation($i: CreatePersonInput!) { createPerson(input: $i) {
        __typename ... on CreatePersonSuccess { person { id email firstName } }
        ... on CreatePersonFailure { errors { code message path } } } }""",
        {"i": {"email": "anna@example.nl", "firstName": "Anna"}},
        token=account.admin_token,
    )
    print(r)
    assert r["data"]["createPerson"]["__typename"] == "CreatePersonSuccess"
    r = gql(
        "{ persons(first: 10) { totalCount edges { node { email consents { granted } purchases { orders } } } } }",
        token=account.admin_token,
    )
    print(r)
    assert r["data"]["persons"]["totalCount"] == 1
