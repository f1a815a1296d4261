"""Plugins per account: install, configure (secrets never shown), grant scopes, enable, remove."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from domain.accounts import service as accounts
from domain.accounts.models import ApiToken
from domain.integrations.registry import parse_plugin_info
from plugins import hookimpl

SECRET = "sk_live_do-not-show-me"


class FeedPlugin:
    @hookimpl
    def register_plugin_info(self):
        return {
            "name": "boxoffice",
            "description": "pulls orders",
            "version": "1.2",
            "scopes": ["people:write", "catalog:write", "tags:read"],
            "config": [
                {"name": "url", "type": "url", "required": True, "description": "API base"},
                {"name": "api_key", "type": "text", "secret": True},
                {"name": "page_size", "type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                {"name": "mode", "type": "choice", "choices": ["full", "changes"], "default": "changes"},
            ],
        }


@pytest.fixture()
def plugin(runtime):
    runtime.plugins.pm.register(FeedPlugin(), name="boxoffice-test")
    return "boxoffice"


PLUGINS = """{ plugins { name version declaredScopes { name } settings { name type required secret default }
  installation { plugin enabled grantedScopes config secretsSet } } }"""
INSTALL = """mutation($i: InstallPluginInput!) { installPlugin(input: $i) {
  ... on PluginSuccess { plugin { installation { enabled grantedScopes config secretsSet } } }
  ... on InstallPluginFailure { errors { code path message } } } }"""
UPDATE = """mutation($i: UpdatePluginInput!) { updatePlugin(input: $i) {
  ... on PluginSuccess { plugin { installation { enabled grantedScopes config secretsSet } } }
  ... on UpdatePluginFailure { errors { code path } } } }"""
UNINSTALL = """mutation($i: UninstallPluginInput!) { uninstallPlugin(input: $i) {
  ... on PluginSuccess { plugin { installation { plugin } } }
  ... on UninstallPluginFailure { errors { code path } } } }"""


def _ours(body):
    return next(p for p in body["data"]["plugins"] if p["name"] == "boxoffice")


def _errors(body, field):
    return [(e["code"], e["path"]) for e in body["data"][field]["errors"]]


def test_registered_plugins_are_listed_with_their_settings(gql, account, plugin):
    listed = _ours(gql(PLUGINS, token=account.viewer_token))
    assert listed["version"] == "1.2" and listed["installation"] is None
    assert [s["name"] for s in listed["declaredScopes"]] == ["people:write", "catalog:write", "tags:read"]
    assert listed["settings"][0] == {"name": "url", "type": "URL", "required": True, "secret": False, "default": None}
    assert listed["settings"][2]["default"] == 100


def test_only_admins_install_and_the_configuration_is_checked(gql, account, plugin):
    good = {"plugin": plugin, "config": {"url": "https://tix.example/api", "api_key": SECRET}}
    for token in (account.marketer_token, account.viewer_token, account.website_key):
        body = gql(INSTALL, {"i": good}, token=token)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    cases = [
        ({"plugin": "nope"}, [("NOT_FOUND", ["input", "plugin"])]),
        ({"plugin": plugin}, [("REQUIRED", ["input", "config", "url"])]),
        ({"plugin": plugin, "config": {"url": "ftp://x"}}, [("INVALID", ["input", "config", "url"])]),
        (
            {"plugin": plugin, "config": {"url": "https://x.example", "page_size": 0, "mode": "all", "colour": "red"}},
            [
                ("OUT_OF_RANGE", ["input", "config", "page_size"]),
                ("INVALID_CHOICE", ["input", "config", "mode"]),
                ("INVALID", ["input", "config", "colour"]),
            ],
        ),
        ({"plugin": plugin, "config": [1, 2]}, [("INVALID", ["input", "config"])]),
        ({**good, "grantedScopes": ["tags:write"]}, [("INVALID_CHOICE", ["input", "grantedScopes"])]),
    ]
    for given, expected in cases:
        assert sorted(_errors(gql(INSTALL, {"i": given}, token=account.admin_token), "installPlugin")) == sorted(
            expected
        ), given

    body = gql(INSTALL, {"i": {**good, "grantedScopes": ["tags:read"]}}, token=account.admin_token)
    installation = body["data"]["installPlugin"]["plugin"]["installation"]
    assert installation == {
        "enabled": True,
        "grantedScopes": ["tags:read"],
        "config": {"url": "https://tix.example/api"},
        "secretsSet": ["api_key"],
    }
    again = gql(INSTALL, {"i": good}, token=account.admin_token)
    assert _errors(again, "installPlugin") == [("CONFLICT", ["input", "plugin"])]


def test_secrets_are_never_shown_and_settings_change_one_by_one(gql, session, account, plugin):
    gql(
        INSTALL,
        {"i": {"plugin": plugin, "config": {"url": "https://tix.example", "api_key": SECRET}}},
        token=account.admin_token,
    )
    listing = gql(PLUGINS, token=account.admin_token)
    assert SECRET not in json.dumps(listing)
    node_query = "{ plugins { installation { id } } }"
    node_id = next(
        p["installation"] for p in gql(node_query, token=account.admin_token)["data"]["plugins"] if p["installation"]
    )["id"]
    node = gql(
        "query($id: ID!) { node(id: $id) { ... on PluginInstallation { config secretsSet } } }",
        {"id": node_id},
        token=account.admin_token,
    )
    assert node["data"]["node"] == {"config": {"url": "https://tix.example"}, "secretsSet": ["api_key"]}
    assert SECRET not in json.dumps(node)

    body = gql(UPDATE, {"i": {"plugin": plugin, "config": {"page_size": 50}}}, token=account.admin_token)
    installation = body["data"]["updatePlugin"]["plugin"]["installation"]
    assert installation["config"] == {"url": "https://tix.example", "page_size": 50}
    assert installation["secretsSet"] == ["api_key"]  # kept without being sent again
    body = gql(UPDATE, {"i": {"plugin": plugin, "config": {"api_key": None}}}, token=account.admin_token)
    assert body["data"]["updatePlugin"]["plugin"]["installation"]["secretsSet"] == []
    body = gql(UPDATE, {"i": {"plugin": plugin, "config": {"url": None}}}, token=account.admin_token)
    assert _errors(body, "updatePlugin") == [("REQUIRED", ["input", "config", "url"])]


def test_connector_keys_follow_their_installation(gql, session, account, plugin):
    gql(
        INSTALL,
        {
            "i": {
                "plugin": plugin,
                "config": {"url": "https://tix.example"},
                "grantedScopes": ["tags:read", "people:write"],
            }
        },
        token=account.admin_token,
    )
    key_row, key = accounts.issue_token(session, account.id, kind="connector", plugin=plugin)
    viewer = "{ viewer { kind plugin scopes } }"
    assert gql(viewer, token=key)["data"]["viewer"] == {
        "kind": "CONNECTOR",
        "plugin": "boxoffice",
        "scopes": ["people:write", "tags:read"],
    }
    gql(UPDATE, {"i": {"plugin": plugin, "grantedScopes": ["tags:read"]}}, token=account.admin_token)
    assert gql(viewer, token=key)["data"]["viewer"]["scopes"] == ["tags:read"]  # narrowed at once

    gql(UPDATE, {"i": {"plugin": plugin, "enabled": False}}, token=account.admin_token)
    assert gql(viewer, token=key)["data"]["viewer"] is None
    assert not accounts.token_is_valid(session, key_row.id)  # open subscriptions end too
    with pytest.raises(Exception, match="disabled"):
        accounts.issue_token(session, account.id, kind="connector", plugin=plugin)
    gql(UPDATE, {"i": {"plugin": plugin, "enabled": True}}, token=account.admin_token)
    assert gql(viewer, token=key)["data"]["viewer"]["kind"] == "CONNECTOR"

    body = gql(UNINSTALL, {"i": {"plugin": plugin}}, token=account.admin_token)
    assert body["data"]["uninstallPlugin"]["plugin"]["installation"] is None
    assert gql(viewer, token=key)["data"]["viewer"] is None
    assert session.execute(select(ApiToken).where(ApiToken.plugin == plugin)).first() is None  # keys went with it


def test_installations_stay_in_their_account(gql, session, account, other_account, plugin):
    gql(INSTALL, {"i": {"plugin": plugin, "config": {"url": "https://tix.example"}}}, token=account.admin_token)
    assert _ours(gql(PLUGINS, token=other_account.admin_token))["installation"] is None
    theirs = gql(UPDATE, {"i": {"plugin": plugin, "enabled": False}}, token=other_account.admin_token)
    assert _errors(theirs, "updatePlugin") == [("NOT_FOUND", ["input", "plugin"])]
    gone = gql(UNINSTALL, {"i": {"plugin": plugin}}, token=other_account.admin_token)
    assert _errors(gone, "uninstallPlugin") == [("NOT_FOUND", ["input", "plugin"])]
    assert _ours(gql(PLUGINS, token=account.admin_token))["installation"]["enabled"] is True
    with pytest.raises(Exception, match="installed"):
        accounts.issue_token(session, other_account.id, kind="connector", plugin=plugin)
    body = gql(PLUGINS, token=account.website_key)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"name": "Bad Name"}, "lower-case"),
        ({"name": "x", "scopes": ["everything"]}, "unknown scope"),
        ({"name": "x", "config": [{"name": "k", "type": "colour"}]}, "unknown type"),
        ({"name": "x", "config": [{"name": "k", "type": "choice"}]}, "no choices"),
        ({"name": "x", "config": [{"name": "k"}, {"name": "k"}]}, "repeat"),
        ("x", "must return a dict"),
    ],
)
def test_malformed_plugin_descriptions_fail_when_loaded(raw, message):
    with pytest.raises(TypeError, match=message):
        parse_plugin_info(raw)
