"""Reference data shipped with the hub (read with importlib.resources)."""
