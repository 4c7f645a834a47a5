"""Pure domain logic: no I/O, no aiohttp, no redis. State is a fold over facts."""
