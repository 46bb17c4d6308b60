"""Custom auth for the test proxy: each bearer token stands for one key of one team.

The LiteLLM proxy puts the returned key's team, alias and user into every call's
metadata, which is what wattmeter's logger attributes the call to; no database needed.
"""

from __future__ import annotations

from typing import Any

from litellm.proxy._types import UserAPIKeyAuth

#: bearer token -> (team id, team alias, key alias, user id)
KEYS = {
    "sk-search": ("team-1", "search", "search-backend", "alice"),
    "sk-ads": ("team-2", "ads", "ads-batch", "bob"),
    "sk-evade": ("team-3", "evade", "evade-key", "mallory"),
}


async def user_api_key_auth(request: Any, api_key: str) -> UserAPIKeyAuth:
    try:
        team_id, team_alias, key_alias, user_id = KEYS[api_key]
    except KeyError:
        raise PermissionError("unknown test key") from None
    return UserAPIKeyAuth(api_key=api_key, team_id=team_id, team_alias=team_alias,
                          key_alias=key_alias, user_id=user_id)
