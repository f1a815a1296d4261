"""Staff users and credentials run by an account's admins through GraphQL: roles, the last active
admin, deactivation stopping tokens at once, secrets shown once and never listed, bad input with
typed errors and nothing written, and another account's ids out of reach."""

from __future__ import annotations

from sqlalchemy import text

from graph.core.ids import to_global_id

CREATE = """mutation($input: CreateStaffUserInput!) { createStaffUser(input: $input) {
  ... on StaffUserSuccess { staffUser { id email name role active } }
  ... on CreateStaffUserFailure { errors { code path message } } } }"""
ROLE = """mutation($input: ChangeStaffRoleInput!) { changeStaffRole(input: $input) {
  ... on StaffUserSuccess { staffUser { id role } }
  ... on ChangeStaffRoleFailure { errors { code path message } } } }"""
DEACTIVATE = """mutation($input: StaffUserIdInput!) { deactivateStaffUser(input: $input) {
  ... on StaffUserSuccess { staffUser { id active deactivatedAt } }
  ... on DeactivateStaffUserFailure { errors { code path message } } } }"""
REACTIVATE = """mutation($input: StaffUserIdInput!) { reactivateStaffUser(input: $input) {
  ... on StaffUserSuccess { staffUser { id active } }
  ... on ReactivateStaffUserFailure { errors { code path message } } } }"""
ISSUE = """mutation($input: IssueApiTokenInput!) { issueApiToken(input: $input) {
  ... on ApiTokenIssued { secret token { id kind name prefix staffUser { email } } }
  ... on IssueApiTokenFailure { errors { code path message } } } }"""
REVOKE = """mutation($input: RevokeApiTokenInput!) { revokeApiToken(input: $input) {
  ... on ApiTokenSuccess { token { id revokedAt } }
  ... on RevokeApiTokenFailure { errors { code path message } } } }"""
TOKENS = """query($kind: TokenKind, $revoked: Boolean! = false) {
  apiTokens(kind: $kind, includeRevoked: $revoked, first: 50) {
    edges { node { id kind name prefix lastUsedAt revokedAt staffUser { email } } } } }"""
STAFF = "{ staffUsers(first: 50) { edges { node { id email role active } } pageInfo { hasNextPage } } }"
WHO = "{ viewer { kind role } }"


def _id(kind: str, pk: int) -> str:
    return to_global_id(kind, pk)


def test_an_admin_adds_a_marketer_gives_them_a_token_and_they_act_with_it(gql, account):
    created = gql(
        CREATE, {"input": {"email": "Sanne@Venue.nl", "role": "MARKETER", "name": " Sanne "}}, token=account.admin_token
    )
    user = created["data"]["createStaffUser"]["staffUser"]
    assert (user["email"], user["name"], user["role"], user["active"]) == ("Sanne@venue.nl", "Sanne", "MARKETER", True)
    issued = gql(
        ISSUE, {"input": {"kind": "STAFF", "name": "laptop", "staffUserId": user["id"]}}, token=account.admin_token
    )["data"]["issueApiToken"]
    secret = issued["secret"]
    assert secret.startswith(issued["token"]["prefix"]) and issued["token"]["staffUser"] == {"email": "Sanne@venue.nl"}
    assert gql(WHO, token=secret)["data"]["viewer"] == {"kind": "STAFF", "role": "marketer"}
    listed = gql(TOKENS, {"kind": "STAFF"}, token=account.admin_token)["data"]["apiTokens"]["edges"]
    mine = next(e["node"] for e in listed if e["node"]["id"] == issued["token"]["id"])
    assert mine["name"] == "laptop"
    # The admin's own token was used by the mutations above. (Under the test harness a use by a
    # query is rolled back with the query's savepoint; on a server it is its own transaction.)
    admins = [e["node"] for e in listed if (e["node"]["staffUser"] or {}).get("email") == account.admin.email]
    assert admins and all(t["lastUsedAt"] is not None for t in admins)
    assert secret not in str(listed)  # the secret is never listed
    staff = gql(STAFF, token=account.admin_token)["data"]["staffUsers"]["edges"]
    assert "Sanne@venue.nl" in {e["node"]["email"] for e in staff}


def test_deactivating_stops_every_token_of_the_user_at_once_and_reactivating_brings_them_back(gql, account):
    marketer = _id("StaffUser", account.marketer.id)
    assert gql(WHO, token=account.marketer_token)["data"]["viewer"]["role"] == "marketer"
    done = gql(DEACTIVATE, {"input": {"staffUserId": marketer}}, token=account.admin_token)["data"]
    assert done["deactivateStaffUser"]["staffUser"]["active"] is False
    refused = gql(WHO, token=account.marketer_token)
    assert refused["data"]["viewer"] is None or refused.get("errors")
    again = gql(ISSUE, {"input": {"kind": "STAFF", "staffUserId": marketer}}, token=account.admin_token)
    assert again["data"]["issueApiToken"]["errors"][0]["code"] == "CONFLICT"
    gql(REACTIVATE, {"input": {"staffUserId": marketer}}, token=account.admin_token)
    assert gql(WHO, token=account.marketer_token)["data"]["viewer"]["role"] == "marketer"


def test_the_account_keeps_an_active_admin(gql, session, account):
    admin = _id("StaffUser", account.admin.id)
    for query, variables, field in (
        (ROLE, {"staffUserId": admin, "role": "VIEWER"}, "changeStaffRole"),
        (DEACTIVATE, {"staffUserId": admin}, "deactivateStaffUser"),
    ):
        answer = gql(query, {"input": variables}, token=account.admin_token)["data"][field]
        assert answer["errors"][0]["code"] == "CONFLICT", answer
    promoted = gql(
        ROLE,
        {"input": {"staffUserId": _id("StaffUser", account.viewer_user.id), "role": "ADMIN"}},
        token=account.admin_token,
    )["data"]["changeStaffRole"]["staffUser"]
    assert promoted["role"] == "ADMIN"
    demoted = gql(ROLE, {"input": {"staffUserId": admin, "role": "MARKETER"}}, token=account.admin_token)
    assert demoted["data"]["changeStaffRole"]["staffUser"]["role"] == "MARKETER"
    assert gql(WHO, token=account.admin_token)["data"]["viewer"]["role"] == "marketer"  # at once


def test_a_revoked_token_is_refused_and_listed_only_when_asked(gql, account):
    website = gql(ISSUE, {"input": {"kind": "WEBSITE", "name": "site"}}, token=account.admin_token)["data"][
        "issueApiToken"
    ]
    token_id = website["token"]["id"]
    assert gql(WHO, token=website["secret"])["data"]["viewer"]["kind"] == "WEBSITE"
    revoked = gql(REVOKE, {"input": {"tokenId": token_id}}, token=account.admin_token)["data"]["revokeApiToken"]
    assert revoked["token"]["revokedAt"] is not None
    assert gql(WHO, token=website["secret"])["data"]["viewer"] is None
    assert token_id not in str(gql(TOKENS, token=account.admin_token)["data"])
    assert token_id in str(gql(TOKENS, {"revoked": True}, token=account.admin_token)["data"])


def test_bad_input_gets_typed_errors_and_writes_nothing(gql, session, account):
    def staff_count():
        return session.execute(
            text("SELECT count(*) FROM staff_user WHERE account_id = :a"), {"a": account.id}
        ).scalar()

    before = staff_count()
    for variables, code, path in (
        ({"email": "ADMIN@" + account.account.slug + ".test", "role": "VIEWER"}, "DUPLICATE", ["input", "email"]),
        ({"email": "not an address", "role": "VIEWER"}, "INVALID_EMAIL", ["input", "email"]),
        ({"email": "x@venue.nl", "role": "VIEWER", "name": "n" * 201}, "TOO_LONG", ["input", "name"]),
        ({"email": "x@venue.nl", "role": "VIEWER", "password": "short"}, "OUT_OF_RANGE", ["input", "password"]),
    ):
        errors = gql(CREATE, {"input": variables}, token=account.admin_token)["data"]["createStaffUser"]["errors"]
        assert (errors[0]["code"], errors[0]["path"]) == (code, path), errors
    assert staff_count() == before
    for variables, code, path in (
        ({"kind": "STAFF"}, "REQUIRED", ["input", "staffUserId"]),
        ({"kind": "WEBSITE", "staffUserId": _id("StaffUser", account.admin.id)}, "INVALID", ["input", "staffUserId"]),
        ({"kind": "WEBSITE", "expiresAt": "2020-01-01T00:00:00+00:00"}, "OUT_OF_RANGE", ["input", "expiresAt"]),
        ({"kind": "WEBSITE", "name": "k" * 201}, "TOO_LONG", ["input", "name"]),
        ({"kind": "CONNECTOR"}, "REQUIRED", ["input", "plugin"]),
    ):
        errors = gql(ISSUE, {"input": variables}, token=account.admin_token)["data"]["issueApiToken"]["errors"]
        assert (errors[0]["code"], errors[0]["path"]) == (code, path), errors


def test_only_admins_and_only_in_their_own_account(gql, session, account, other_account):
    theirs = _id("StaffUser", other_account.marketer.id)
    their_token = session.execute(
        text("SELECT min(id) FROM api_token WHERE account_id = :a"), {"a": other_account.id}
    ).scalar_one()
    for token in (account.marketer_token, account.viewer_token, account.website_key):
        denied = gql(DEACTIVATE, {"input": {"staffUserId": _id("StaffUser", account.marketer.id)}}, token=token)
        assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert gql(TOKENS, token=token)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert gql(STAFF, token=token)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert gql("query($id: ID!) { node(id: $id) { id } }", {"id": theirs}, token=token)["data"]["node"] is None
    for query, variables, field in (
        (DEACTIVATE, {"staffUserId": theirs}, "deactivateStaffUser"),
        (ROLE, {"staffUserId": theirs, "role": "ADMIN"}, "changeStaffRole"),
        (ISSUE, {"kind": "STAFF", "staffUserId": theirs}, "issueApiToken"),
        (REVOKE, {"tokenId": _id("ApiToken", their_token)}, "revokeApiToken"),
    ):
        answer = gql(query, {"input": variables}, token=account.admin_token)
        assert answer["data"][field]["errors"][0]["code"] == "NOT_FOUND", answer
    assert gql(WHO, token=other_account.marketer_token)["data"]["viewer"]["role"] == "marketer"
    mine = gql(
        "query($id: ID!) { node(id: $id) { ... on StaffUser { email } } }",
        {"id": _id("StaffUser", account.marketer.id)},
        token=account.admin_token,
    )
    assert mine["data"]["node"]["email"] == account.marketer.email
    assert (
        gql("query($id: ID!) { node(id: $id) { id } }", {"id": theirs}, token=account.admin_token)["data"]["node"]
        is None
    )
