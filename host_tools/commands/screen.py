"""`host_tools screen`: the picture on the token's display, in the terminal or as a PNG."""

from __future__ import annotations

import click

from host_tools.commands._token import session
from host_tools.session import Screen

_HALF = {
    (False, False): " ",
    (True, False): "\u2580",
    (False, True): "\u2584",
    (True, True): "\u2588",
}


def render_text(screen: Screen) -> str:
    """Two pixel rows per character line, with half-block characters, framed."""
    lines = ["+" + "-" * screen.width + "+"]
    for y in range(0, screen.height, 2):
        row = "".join(
            _HALF[(screen.pixel(x, y), y + 1 < screen.height and screen.pixel(x, y + 1))]
            for x in range(screen.width)
        )
        lines.append("|" + row + "|")
    lines.append(lines[0])
    return "\n".join(lines)


def save_png(screen: Screen, path: str, scale: int = 4) -> None:
    from PIL import Image

    img = Image.new("1", (screen.width, screen.height))
    img.putdata(
        [
            255 if screen.pixel(x, y) else 0
            for y in range(screen.height)
            for x in range(screen.width)
        ]
    )
    img.resize((screen.width * scale, screen.height * scale), Image.Resampling.NEAREST).save(path)


@click.command()
@click.option("--png", "png", metavar="FILE", help="Also save the picture as a PNG file.")
@click.option("--quiet", is_flag=True, help="Do not print the text rendering.")
@click.pass_context
def screen(ctx: click.Context, png: str | None, quiet: bool) -> None:
    """Show what the token's display shows now."""
    picture = session(ctx).screen()
    if not quiet:
        click.echo(render_text(picture))
    if png:
        save_png(picture, png)
        click.echo(f"saved {png} ({picture.width}x{picture.height})", err=True)
