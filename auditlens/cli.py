"""The ``auditlens`` command: a thin click layer over the library (no logic the library lacks)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from .errors import AuditlensError, SourceError
from .rejects import RejectLog
from .sources import expand_sources


def _split_by_type(sources: tuple[str, ...], source_type: str) -> dict[str, list[str]]:
    """Expand the sources and route each file to a reader by its content (or by --source-type).

    A file named on the command line that is neither kind is an error; files found by walking a
    directory that are neither kind (a README, a copied passwd file) are skipped and listed on
    stderr, so nothing is skipped silently.
    """
    from .detect import detect_file

    routed: dict[str, list[str]] = {}
    skipped: list[str] = []
    for item in sources:
        from_dir = item != "-" and Path(item).is_dir()
        for inp in expand_sources(item):
            kind = source_type if source_type != "auto" else detect_file(inp)
            if kind is None:
                if inp.size == 0:
                    continue  # an empty file holds no lines to account for
                if from_dir:
                    skipped.append(inp.name)
                    continue
                raise SourceError(
                    "cannot tell whether this is an auditd or a Kubernetes audit log; "
                    "use --source-type auditd|k8s",
                    file=inp.name,
                )
            routed.setdefault(kind, []).append(inp.name)
    if skipped:
        shown = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        click.echo(f"auditlens: skipped {len(skipped)} file(s) that are not audit logs: {shown}", err=True)
    return routed


def _write_rejects(log: RejectLog, path: str | None) -> None:
    if path:
        from .export import format_from_path, write_table

        write_table(log.table(), path, format_from_path(path))


source_type_option = click.option(
    "--source-type",
    type=click.Choice(["auto", "auditd", "k8s"]),
    default="auto",
    show_default=True,
    help="Input kind; auto looks at each file's first lines.",
)
id_options = [
    click.option("--passwd", type=click.Path(exists=True, dir_okay=False), help="The node's passwd file for uid → name."),
    click.option("--group", type=click.Path(exists=True, dir_okay=False), help="The node's group file for gid → name."),
]


def _with(options: list[Any]) -> Any:
    def deco(f: Any) -> Any:
        for opt in reversed(options):
            f = opt(f)
        return f

    return deco


class _Cli(click.Group):
    """Turns user mistakes (bad input, missing files) into one line on stderr and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AuditlensError as exc:
            raise click.ClickException(str(exc)) from exc
        except BrokenPipeError:  # output piped into head: not an error worth a message
            sys.exit(1)
        except OSError as exc:  # unreadable file, full disk: the environment, not our bug
            name = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(f"{name}{exc.strerror or exc}") from exc


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="auditlens")
def cli() -> None:
    """Audit logs as evidence: who did what, when, from where, and whether it worked.

    Reads Linux auditd logs (raw or ENRICHED, rotated, compressed) and Kubernetes /
    OpenShift API audit logs (JSON lines, webhook batches, container and cloud wrappers).
    """


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("-o", "--output", required=True, help="Output file (.parquet, .csv, .jsonl, .json); '-' for stdout.")
@click.option("-f", "--format", "fmt", help="Output format; default from the output file's extension.")
@source_type_option
@click.option("--records", is_flag=True, help="auditd: one row per record (every field) instead of per event.")
@_with(id_options)
@click.option("--rejects", "rejects_path", help="Also write the rejected lines (file, line, reason, raw) here.")
@click.option("--strict", is_flag=True, help="Stop at the first malformed line instead of collecting it.")
def parse(
    sources: tuple[str, ...],
    output: str,
    fmt: str | None,
    source_type: str,
    records: bool,
    passwd: str | None,
    group: str | None,
    rejects_path: str | None,
    strict: bool,
) -> None:
    """Convert audit logs to a table file, streaming, and print a one-line account."""
    from .export import format_from_path, write_batches

    fmt = fmt or format_from_path(output)
    routed = _split_by_type(sources, source_type)
    if len(routed) > 1:
        raise AuditlensError(
            "the inputs mix auditd and Kubernetes logs; parse one kind at a time "
            "(or use 'auditlens report', which reads both)"
        )
    if not routed:
        raise SourceError("no input lines: every file given is empty")
    (kind, names), = routed.items()
    log = RejectLog()
    errors = "raise" if strict else "collect"
    counts = {"rows": 0, "lines": 0}

    def counted(batches: Iterator[Any], lines_column: str | None) -> Iterator[Any]:
        for batch in batches:
            counts["rows"] += batch.num_rows
            if lines_column:
                counts["lines"] += sum(v for v in batch.column(lines_column).to_pylist() if v)
            yield batch

    if kind == "auditd":
        from .auditd import reader as ar
        from .schema import AUDITD_EVENTS, AUDITD_RECORDS

        opener = ar.open_auditd_records if records else ar.open_auditd
        schema = (AUDITD_RECORDS if records else AUDITD_EVENTS).arrow
        batches = counted(
            opener(names, passwd=passwd, group=group, errors=errors, rejects=log),
            None if records else "record_count",
        )
    else:
        from .k8s import reader as kr
        from .schema import K8S_EVENTS  # type: ignore[attr-defined]

        schema = K8S_EVENTS.arrow
        batches = counted(kr.open_k8s_audit(names, errors=errors, rejects=log), None)
    write_batches(batches, schema, output, fmt)
    _write_rejects(log, rejects_path)
    if kind == "auditd" and not records:
        account = f"{counts['rows']} events from {counts['lines']} records"
    else:
        account = f"{counts['rows']} {'records' if kind == 'auditd' else 'events'}"
    hint = "" if not log or rejects_path else " (see them with --rejects FILE)"
    click.echo(f"{kind}: {account}, {len(log)} lines rejected{hint} -> {output}", err=True)


def main() -> None:
    """Console entry point."""
    cli(prog_name="auditlens")


if __name__ == "__main__":  # pragma: no cover
    main()
