"""Self-declared participant profiles: optional, given with consent, used only in aggregate."""

from __future__ import annotations

from typing import Any

from ..errors import bad_request
from .session import GENDERS, STAKEHOLDERS

PROFILE_FIELDS = ("stakeholder", "country", "gender", "youth")


def check_profile(profile: Any) -> dict[str, Any]:
    """The profile with only known fields, each checked; `bad_request` names the bad one."""
    if profile is None:
        return {}
    if not isinstance(profile, dict):
        raise bad_request("profile must be an object")
    unknown = set(profile) - set(PROFILE_FIELDS)
    if unknown:
        raise bad_request(
            f"unknown profile field {sorted(unknown)[0]!r} (known: {', '.join(PROFILE_FIELDS)})"
        )
    clean: dict[str, Any] = {}
    stakeholder = profile.get("stakeholder")
    if stakeholder is not None:
        if stakeholder not in STAKEHOLDERS:
            raise bad_request(f"stakeholder must be one of {', '.join(STAKEHOLDERS)}")
        clean["stakeholder"] = stakeholder
    country = profile.get("country")
    if country is not None:
        if not (isinstance(country, str) and len(country) == 2 and country.isascii()
                and country.isalpha()):
            raise bad_request("country must be an ISO 3166-1 alpha-2 code such as KE or BR")
        clean["country"] = country.upper()
    gender = profile.get("gender")
    if gender is not None:
        if gender not in GENDERS:
            raise bad_request(f"gender must be one of {', '.join(GENDERS)}")
        clean["gender"] = gender
    youth = profile.get("youth")
    if youth is not None:
        if not isinstance(youth, bool):
            raise bad_request("youth must be true or false")
        clean["youth"] = youth
    return clean
