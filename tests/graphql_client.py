"""A small GraphQL client over Starlette's TestClient."""

from __future__ import annotations

from starlette.testclient import TestClient


class GraphQLClient:
    def __init__(self, app):
        self.http = TestClient(app)

    def post(
        self,
        query: str,
        variables: dict | None = None,
        token: str | None = None,
        accept: str = "application/graphql-response+json",
        **extra,
    ):
        headers = {"accept": accept}
        if token:
            headers["authorization"] = f"Bearer {token}"
        return self.http.post("/graphql", json={"query": query, "variables": variables or {}, **extra}, headers=headers)

    def __call__(self, query: str, variables: dict | None = None, token: str | None = None) -> dict:
        response = self.post(query, variables, token)
        body = response.json()
        body["_status"] = response.status_code
        return body
