"""The Redis backend's Lua scripts, kept as files in hub/log/lua/ (shipped in the wheel)."""

from __future__ import annotations

from importlib import resources

#: Each script, by name, and the files it is made of, in order: `append` and `create`
#: share the functions of write.lua.
PARTS: dict[str, tuple[str, ...]] = {
    "append": ("write", "append"),
    "create": ("write", "create"),
    "new_epoch": ("new_epoch",),
    "drop": ("drop",),
    "stage": ("stage",),
    "swap": ("swap",),
    "meta": ("meta",),
    "presence": ("presence",),
}


def load() -> dict[str, str]:
    """The text of every script, by name."""
    folder = resources.files(__package__).joinpath("lua")
    texts = {
        part: folder.joinpath(f"{part}.lua").read_text(encoding="utf-8")
        for parts in PARTS.values()
        for part in parts
    }
    return {name: "\n".join(texts[part] for part in parts) for name, parts in PARTS.items()}
