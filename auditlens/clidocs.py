"""Render the click commands as Markdown, so ``docs/cli.md`` is derived from the CLI, never hand-kept.

Regenerate with ``python -m auditlens.clidocs > docs/cli.md``; a test fails when the committed
file and the commands disagree. Kept out of :mod:`auditlens.cli` so the CLI stays commands only.
"""

from __future__ import annotations

import inspect

import click


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _option_rows(cmd: click.Command, ctx: click.Context) -> list[str]:
    rows = []
    for param in cmd.get_params(ctx):
        if not isinstance(param, click.Option) or param.hidden:
            continue
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, help_text = record
        rows.append(f"| `{_cell(names)}` | {_cell(help_text)} |")
    return rows


def _arguments(cmd: click.Command, ctx: click.Context) -> list[str]:
    out = []
    for param in cmd.get_params(ctx):
        if isinstance(param, click.Argument):
            metavar = param.make_metavar(ctx) if _takes_ctx(param) else param.make_metavar()  # type: ignore[call-arg]
            many = " (one or more)" if param.nargs == -1 and param.required else ""
            many = many or (" (any number)" if param.nargs == -1 else "")
            out.append(f"`{metavar}`{many}")
    return out


def _takes_ctx(param: click.Argument) -> bool:
    """click 8.2 added a ``ctx`` parameter to ``make_metavar``; support both."""
    return "ctx" in inspect.signature(param.make_metavar).parameters


def command_markdown(cmd: click.Command, path: list[str], parent: click.Context | None) -> str:
    """One command: heading, usage line, help text, arguments and an options table."""
    name = " ".join(path)
    settings = {"terminal_width": 100, "max_content_width": 100, **cmd.context_settings}
    ctx = click.Context(cmd, info_name=path[-1], parent=parent, **settings)
    usage = " ".join(cmd.collect_usage_pieces(ctx))
    parts = [
        f"{'#' * min(len(path) + 1, 4)} `{name}`",
        "",
        "```text",
        f"Usage: {name} {usage}".rstrip(),
        "```",
        "",
    ]
    if cmd.help:
        parts += [_help(cmd.help), ""]
    args = _arguments(cmd, ctx)
    if args:
        parts += ["Arguments: " + ", ".join(args) + ".", ""]
    rows = _option_rows(cmd, ctx)
    if rows:
        parts += ["| option | meaning |", "|---|---|", *rows, ""]
    text = "\n".join(parts)
    if isinstance(cmd, click.Group):
        for sub_name in sorted(cmd.list_commands(ctx)):
            sub = cmd.get_command(ctx, sub_name)
            if sub is None or sub.hidden:
                continue
            text += "\n" + command_markdown(sub, [*path, sub_name], ctx)
    return text


def _help(text: str) -> str:
    """click help text → Markdown: paragraphs kept, ``\\b`` blocks (verbatim) as code blocks."""
    out: list[str] = []
    for block in inspect.cleandoc(text).split("\n\n"):
        if block.startswith("\b\n"):
            out.append("```text\n" + block[2:] + "\n```")
        else:
            out.append(" ".join(block.split()))
    return "\n\n".join(out)


def render() -> str:
    from .cli import cli

    head = (
        "# Command line\n\n"
        "Generated from the click commands in `auditlens/cli.py` "
        "(`python -m auditlens.clidocs > docs/cli.md`); do not edit by hand. "
        "`auditlens COMMAND --help` prints the same.\n\n"
    )
    return head + command_markdown(cli, ["auditlens"], None)


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
