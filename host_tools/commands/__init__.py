"""CLI command modules; each defines register(group). See host_tools.cli."""
