"""`host_tools sim`: the virtual token (placeholder until the simulator lands)."""

from __future__ import annotations

import click

from host_tools.errors import HostToolsError


def register(group: click.Group) -> None:
    @group.command()
    def sim() -> None:
        """Run the virtual token."""
        raise HostToolsError("the simulator is not built yet")
