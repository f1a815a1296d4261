"""Inviting staff: an admin invites, the invited user chooses a password once through the token
and is logged in; the token is refused when changed, used, expired, or for a deactivated user;
only admins invite; another account's users cannot be renewed."""

from __future__ import annotations

from datetime import timedelta

from domain import clock
from tests.graph.test_staff_and_keys import DEACTIVATE, WHO

INVITE = """mutation($input: InviteStaffUserInput!) { inviteStaffUser(input: $input) {
  ... on StaffInvitation { token expiresAt staffUser { id email role } }
  ... on InviteStaffUserFailure { errors { code path } } } }"""
RENEW = """mutation($input: StaffUserIdInput!) { renewStaffInvitation(input: $input) {
  ... on StaffInvitation { token } ... on RenewStaffInvitationFailure { errors { code path } } } }"""
ACCEPT = """mutation($input: AcceptStaffInvitationInput!) { acceptStaffInvitation(input: $input) {
  ... on LoggedIn { secret staffUser { email } }
  ... on AcceptStaffInvitationFailure { errors { code path message } } } }"""
LOG_IN = """mutation($input: LogInInput!) { logIn(input: $input) {
  ... on LoggedIn { secret } ... on LogInFailure { errors { code } } } }"""
PASSWORD = "zomerseizoen-2027-premiere"


def _accept(gql, token, password=PASSWORD):
    return gql(ACCEPT, {"input": {"token": token, "password": password}})["data"]["acceptStaffInvitation"]


def test_an_invited_user_chooses_a_password_once_and_logs_in(gql, account):
    invited = gql(INVITE, {"input": {"email": "nieuw@venue.nl", "role": "MARKETER"}}, token=account.admin_token)
    invitation = invited["data"]["inviteStaffUser"]
    assert invitation["staffUser"]["role"] == "MARKETER" and invitation["token"].startswith("mqi_")
    token = invitation["token"]
    assert _accept(gql, token, "kort")["errors"][0]["code"] == "OUT_OF_RANGE"
    assert _accept(gql, token[:-2] + "xx")["errors"][0]["code"] == "UNAUTHENTICATED"
    done = _accept(gql, token)
    assert done["staffUser"] == {"email": "nieuw@venue.nl"}
    assert gql(WHO, token=done["secret"])["data"]["viewer"] == {"kind": "STAFF", "role": "marketer"}
    used = _accept(gql, token)
    assert used["errors"][0]["code"] == "CONFLICT"
    login = {"account": account.account.slug, "email": "nieuw@venue.nl", "password": PASSWORD}
    assert gql(LOG_IN, {"input": login})["data"]["logIn"]["secret"]
    renewed = gql(RENEW, {"input": {"staffUserId": invitation["staffUser"]["id"]}}, token=account.admin_token)
    assert renewed["data"]["renewStaffInvitation"]["errors"][0]["code"] == "CONFLICT"  # has a password now


def test_invitations_expire_and_stop_with_deactivation(gql, account, monkeypatch):
    first = gql(INVITE, {"input": {"email": "a@venue.nl", "role": "VIEWER"}}, token=account.admin_token)
    token = first["data"]["inviteStaffUser"]["token"]
    now = clock.now()
    monkeypatch.setattr(clock, "now", lambda: now + timedelta(days=8))
    assert "expired" in _accept(gql, token)["errors"][0]["message"]
    monkeypatch.setattr(clock, "now", lambda: now)
    user_id = first["data"]["inviteStaffUser"]["staffUser"]["id"]
    gql(DEACTIVATE, {"input": {"staffUserId": user_id}}, token=account.admin_token)
    assert _accept(gql, token)["errors"][0]["code"] == "UNAUTHENTICATED"


def test_only_admins_invite_and_within_their_account(gql, account, other_account):
    for token in (account.marketer_token, account.viewer_token, None):
        body = gql(INVITE, {"input": {"email": "b@venue.nl", "role": "ADMIN"}}, token=token)
        assert body["errors"][0]["extensions"]["code"] in ("FORBIDDEN", "UNAUTHENTICATED")
    duplicate = gql(INVITE, {"input": {"email": account.admin.email, "role": "VIEWER"}}, token=account.admin_token)
    assert duplicate["data"]["inviteStaffUser"]["errors"][0]["code"] == "DUPLICATE"
    mine = gql(INVITE, {"input": {"email": "c@venue.nl", "role": "VIEWER"}}, token=account.admin_token)
    user_id = mine["data"]["inviteStaffUser"]["staffUser"]["id"]
    foreign = gql(RENEW, {"input": {"staffUserId": user_id}}, token=other_account.admin_token)
    assert foreign["data"]["renewStaffInvitation"]["errors"][0]["code"] == "NOT_FOUND"
