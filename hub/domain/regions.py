"""Where a country code belongs: UN regional group, M49 region and developed/developing economy.

The table ships as `hub/data/regions.csv`, read once on first use; its header names the
sources and the rules for entries a source does not cover. Every lookup takes an ISO 3166-1
alpha-2 code in any case and answers `"unknown"` for a code it does not know (or None).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

__all__ = [
    "DEVELOPED",
    "DEVELOPING",
    "ECONOMIES",
    "UNKNOWN",
    "UN_GROUPS",
    "UN_GROUP_NAMES",
    "UN_GROUP_SHORT_NAMES",
    "Country",
    "countries",
    "economy",
    "lookup",
    "m49_region",
    "source",
    "un_group",
]

UNKNOWN: Final = "unknown"
DEVELOPED: Final = "developed"
DEVELOPING: Final = "developing"
ECONOMIES: Final = (DEVELOPED, DEVELOPING)

UN_GROUPS: Final = (
    "african",
    "asia_pacific",
    "eastern_european",
    "latin_american_caribbean",
    "weog",
)
UN_GROUP_NAMES: Final[Mapping[str, str]] = {
    "african": "African States",
    "asia_pacific": "Asia-Pacific States",
    "eastern_european": "Eastern European States",
    "latin_american_caribbean": "Latin American and Caribbean States",
    "weog": "Western European and other States",
}
"""Each group's official English name."""
UN_GROUP_SHORT_NAMES: Final[Mapping[str, str]] = {
    "african": "Africa",
    "asia_pacific": "Asia-Pacific",
    "eastern_european": "Eastern Europe",
    "latin_american_caribbean": "Latin America and the Caribbean",
    "weog": "Western Europe and other States",
}
"""Each group as a phrase reads: "the first speaker from Africa"."""

_DATA_FILE: Final = "regions.csv"
_STATUSES: Final = frozenset({"member", "observer", "territory", "other"})


@dataclass(frozen=True, slots=True)
class Country:
    """One row of the table: a country or area and where it belongs."""

    code: str
    name: str
    status: str
    un_group: str
    m49_region: str
    m49_subregion: str
    economy: str


def _read_data() -> str:
    return resources.files("hub.data").joinpath(_DATA_FILE).read_text(encoding="utf-8")


def _parse(text: str) -> tuple[str, dict[str, Country]]:
    """The header comment and the rows of the data file; `ValueError` names a bad row."""
    comments = [line[1:].strip() for line in text.splitlines() if line.startswith("#")]
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    table: dict[str, Country] = {}
    for row in csv.DictReader(io.StringIO(body)):
        country = Country(
            code=row["alpha2"],
            name=row["name"],
            status=row["status"],
            un_group=row["un_group"],
            m49_region=row["m49_region"],
            m49_subregion=row["m49_subregion"],
            economy=row["economy"],
        )
        _check(country)
        table[country.code] = country
    return "\n".join(comments), table


def _check(country: Country) -> None:
    if len(country.code) != 2 or not country.code.isascii() or not country.code.isupper():
        raise ValueError(f"{_DATA_FILE}: bad code {country.code!r}")
    if country.un_group not in (*UN_GROUPS, UNKNOWN):
        raise ValueError(f"{_DATA_FILE}: {country.code} has unknown group {country.un_group!r}")
    if country.economy not in (*ECONOMIES, UNKNOWN):
        raise ValueError(f"{_DATA_FILE}: {country.code} has bad economy {country.economy!r}")
    if country.status not in _STATUSES:
        raise ValueError(f"{_DATA_FILE}: {country.code} has bad status {country.status!r}")


@cache
def _loaded() -> tuple[str, dict[str, Country]]:
    return _parse(_read_data())


def countries() -> Mapping[str, Country]:
    """Every known code, upper case, to its row."""
    return _loaded()[1]


def source() -> str:
    """The data file's header: where each column comes from."""
    return _loaded()[0]


def lookup(code: str | None) -> Country | None:
    """The row for an ISO 3166-1 alpha-2 `code` (any case); None when unknown."""
    if not code:
        return None
    return countries().get(code.strip().upper())


def un_group(code: str | None) -> str:
    """The UN regional group of `code` (see `UN_GROUPS`), or "unknown"."""
    country = lookup(code)
    return country.un_group if country is not None else UNKNOWN


def economy(code: str | None) -> str:
    """ "developed" or "developing" per UN M49 for `code`, or "unknown"."""
    country = lookup(code)
    return country.economy if country is not None else UNKNOWN


def m49_region(code: str | None) -> str:
    """The M49 continent of `code` (Africa, Americas, Asia, Europe, Oceania), or "unknown"."""
    country = lookup(code)
    return country.m49_region if country is not None else UNKNOWN
