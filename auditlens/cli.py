"""The ``auditlens`` command: a thin click layer over the library (no logic the library lacks)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import click

from .detections.levels import LEVELS
from .errors import AuditlensError, SourceError
from .formats import SOURCE_TYPES
from .rejects import RejectLog


def _split_by_type(sources: tuple[str, ...], source_type: str) -> dict[str, list[str]]:
    """Route each file to a reader by its content; list on stderr what was skipped."""
    from .formats import route

    routed = route(sources, source_type)
    _tell_skipped(routed.skipped)
    return routed.files


def _start_workers(kind: str, names: list[str], jobs: int) -> None:
    """The read's workers, started before this process imports pyarrow (the CLI imports none
    until here), so that they import side by side with it."""
    from .scheduler.pool import prestart

    prestart(f"auditlens.{kind}", names, jobs)


def _tell_skipped(skipped: list[str]) -> None:
    if skipped:
        shown = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        click.echo(f"auditlens: skipped {len(skipped)} file(s) that are not audit logs: {shown}", err=True)


def _write_rejects(log: RejectLog, path: str | None) -> None:
    if path:
        from .export import format_from_path, write_table

        write_table(log.table(), path, format_from_path(path))


jobs_option = click.option(
    "-j", "--jobs", type=click.IntRange(min=0), default=1, show_default=True,
    help="Processes that read: this one and N-1 workers (0: one per CPU); same output as with one.")
max_line_option = click.option(
    "--max-line-bytes", type=click.IntRange(min=1), default=None,
    help="Reject longer input lines unread (a binary file, a decompression bomb) "
         "[default: 1048576 for auditd, 67108864 for Kubernetes].")
source_type_option = click.option(
    "--source-type",
    type=click.Choice(["auto", *SOURCE_TYPES]),
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
@click.option("-o", "--output", required=True, help="Output file (.parquet, .csv, .jsonl, .json); '-' for stdout (JSON lines unless -f).")
@click.option("-f", "--format", "fmt", help="Output format; default from the output file's extension.")
@source_type_option
@click.option("--records", is_flag=True, help="auditd: one row per record (every field) instead of per event.")
@_with(id_options)
@click.option("--rejects", "rejects_path", help="Also write the rejected lines (file, line, reason, raw) here.")
@click.option("--strict", is_flag=True, help="Stop at the first malformed line instead of collecting it.")
@jobs_option
@max_line_option
@click.option("--partition", help="Write a Hive-partitioned Parquet dataset to the directory -o, "
              "split by these columns (e.g. node,date or cluster,date; date is the UTC day of time).")
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
    jobs: int,
    max_line_bytes: int | None,
    partition: str | None,
) -> None:
    """Convert audit logs to a table file, streaming, and print a one-line account.

    On a terminal a progress bar (bytes read) is shown on stderr; nothing when piped.
    """
    routed = _split_by_type(sources, source_type)
    if len(routed) > 1:
        raise AuditlensError(
            f"the inputs mix {' and '.join(sorted(routed))} logs; parse one kind at a time "
            "(or use 'auditlens report', which reads both)"
        )
    if not routed:
        raise SourceError("no input lines: every file given is empty")
    (kind, names), = routed.items()
    _start_workers(kind, names, jobs)
    from .export import check_output, write_batches

    dest: Any = output
    if partition:
        from .dataset import check_partition_target

        check_partition_target(output, fmt)
        fmt = "parquet"
    else:  # the format, its writer and the file's directory, before reading
        if output == "-":  # standard output: JSON lines unless -f says otherwise
            dest, fmt = sys.stdout.buffer, fmt or "jsonl"
        fmt = check_output(dest, fmt).name
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
            opener(names, passwd=passwd, group=group, errors=errors, rejects=log, jobs=jobs,
                   max_line_bytes=max_line_bytes),
            None if records else "record_count",
        )
    elif kind == "cloud":
        from .cloud import reader as cr
        from .schema import CLOUD_EVENTS

        schema = CLOUD_EVENTS.arrow
        batches = counted(cr.open_cloud_audit(names, errors=errors, rejects=log, jobs=jobs,
                                              max_line_bytes=max_line_bytes), None)
    else:
        from .k8s import reader as kr
        from .schema import K8S_EVENTS

        schema = K8S_EVENTS.arrow
        batches = counted(kr.open_k8s_audit(names, errors=errors, rejects=log, jobs=jobs,
                                            max_line_bytes=max_line_bytes), None)
    with _progress(names):
        if partition:
            from .dataset import write_partitioned

            write_partitioned(batches, schema, output, partition)
        else:
            write_batches(batches, schema, dest, fmt)
    sys.stdout.flush()
    _write_rejects(log, rejects_path)
    if kind == "auditd" and not records:
        account = f"{counts['rows']} events from {counts['lines']} records"
    else:
        account = f"{counts['rows']} {'records' if kind == 'auditd' else 'events'}"
    hint = "" if not log or rejects_path else " (see them with --rejects FILE)"
    click.echo(f"{kind}: {account}, {len(log)} lines rejected{hint} -> {output}", err=True)


def _progress(names: list[str]) -> Any:
    """A bytes-read bar on stderr when it is a terminal and the inputs are files; else nothing."""
    from contextlib import ExitStack

    from .progress import reading
    from .sources import bytes_on_disk

    shown = ExitStack()
    shown.enter_context(_reading_shown())
    shown.enter_context(reading(bytes_on_disk(names), label="parsing"))
    return shown


def _reading_shown() -> Any:
    """Reads the library announces (a report's sources) drawn as a bar on stderr when it is a
    terminal; else nothing."""
    from contextlib import nullcontext

    if not sys.stderr.isatty():
        return nullcontext()
    from .progress import shown_on

    return shown_on(sys.stderr)


def _list_reports() -> None:
    from .reports import list_reports

    for r in list_reports():
        click.echo(f"{r.name}\n  {r.title} ({r.requirement})")
        click.echo(click.wrap_text(r.description, initial_indent="  ", subsequent_indent="  ", width=88))


@cli.command()
@click.argument("name", required=False)
@click.argument("sources", nargs=-1)
@click.option("--list", "list_", is_flag=True, help="Describe every report and exit.")
@click.option("-o", "--output", help="Output file; '-' or none for stdout (text formats).")
@click.option("-f", "--format", "fmt", help="csv, jsonl, json, parquet, md, xlsx or html; default from -o, else md.")
@click.option("--since", help="Start of the period: ISO 8601, a date, or 24h, 7d, today, yesterday.")
@click.option("--until", help="End of the period (same forms; a bare date means the end of that day).")
@click.option("--user", help="Only actions by this person (actor) or run as this identity.")
@click.option("--node", help="Only this node's auditd events.")
@click.option("--namespace", help="Only Kubernetes requests in this namespace.")
@click.option("--cluster", help="Cluster name for Kubernetes logs that do not carry one; the "
              "timeline keeps only this cluster's rows (and those that name none).")
@click.option("--tz", help="Show times in this IANA time zone (default UTC); Parquet keeps UTC.")
@source_type_option
@jobs_option
@max_line_option
@click.option("--dask", "dask_address", metavar="ADDRESS",
              help="Read each node on a Dask cluster (scheduler address, or 'local' for one on "
              "this machine; the workers must see the same paths). Needs the dask extra.")
@click.option("--rbac", "rbac_export", metavar="EXPORT",
              help="access-review, compliance: the RBAC export (kubectl get roles,clusterroles,"
              "rolebindings,clusterrolebindings -A -o yaml; a file or a folder) to review against.")
def report(
    name: str | None,
    sources: tuple[str, ...],
    list_: bool,
    output: str | None,
    fmt: str | None,
    since: str | None,
    until: str | None,
    user: str | None,
    node: str | None,
    namespace: str | None,
    cluster: str | None,
    tz: str | None,
    source_type: str,
    jobs: int,
    max_line_bytes: int | None,
    dask_address: str | None,
    rbac_export: str | None,
) -> None:
    """Build a compliance report NAME from SOURCES (auditd and Kubernetes logs, mixed).

    \b
    Examples:
      auditlens report --list
      auditlens report compliance nodes/ kube-apiserver/ -o evidence.xlsx
      auditlens report logins nodes/ --since 7d -f csv -o logins.csv
      auditlens report compliance fleet/nodes/ -o evidence.xlsx --jobs 0
      auditlens report timeline nodes/ kube-apiserver/ cloud/ --user alice@example.com
      auditlens report access-review kube-apiserver/ --rbac rbac.yaml -o review.xlsx

    Mistakes in the options and the output (format, missing writer package, directory, --tz,
    --since/--until) are refused before reading. On a terminal a progress bar (bytes read of
    all inputs, and the node being read) is shown on stderr; nothing when piped.
    """
    if list_:
        _list_reports()
        return
    if not name:
        raise click.UsageError("give a report name (auditlens report --list shows them)")
    if sources and dask_address is None and jobs != 1:  # before pyarrow (see _start_workers)
        from .scheduler.pool import requested_jobs, start_workers

        start_workers(requested_jobs(jobs), ("auditlens.collect",), list(sources))
    from .reports import get_report, run_report

    get_report(name)  # an unknown name fails before any reading
    if not sources:
        raise click.UsageError("give at least one source: a log file, a node directory or a glob")
    to_stdout = output in (None, "-")
    dest: Any = sys.stdout.buffer if to_stdout else output
    # run_report checks the options and the output before it reads, then writes
    with _reading_shown(), _dask_client(dask_address) as client:
        result = run_report(name, sources, since=since, until=until, user=user, node=node,
                            namespace=namespace, cluster=cluster, source_type=source_type,
                            output=dest, fmt=fmt or ("md" if to_stdout else None), tz=tz,
                            jobs=jobs, max_line_bytes=max_line_bytes, client=client,
                            rbac=rbac_export)
    _tell_skipped(result.collection.skipped)
    if to_stdout:
        sys.stdout.flush()
    rows = sum(s.table.num_rows for s in result.sections)
    rejected = result.collection.reject_count
    note = "" if rows else " (no matching rows: the file has the headers only)"
    if not to_stdout:
        note += _sidecar_note(result.sections, str(output), fmt)
    click.echo(f"{name}: {rows} rows in {len(result.sections)} section(s), "
               f"{rejected} input lines rejected{note} -> {output or 'stdout'}", err=True)


@cli.group()
def rbac() -> None:
    """Least privilege from the Kubernetes API log: roles from observed use, access reviews."""


@rbac.command("generate")
@click.argument("sources", nargs=-1, required=True)
@click.option("--user", "users", multiple=True, help="Generate for this user (repeatable).")
@click.option("--serviceaccount", "service_accounts", multiple=True, metavar="NS:NAME",
              help="Generate for this service account (repeatable).")
@click.option("--all", "all_subjects", is_flag=True, help="Generate for every subject of the log.")
@click.option("--include-denied", is_flag=True, help="Grant what was denied too (audit2rbac does).")
@click.option("--expand-names/--no-expand-names", default=True, show_default=True,
              help="An unnamed grant when more than one object of a kind was used.")
@click.option("--expand-namespaces/--no-expand-namespaces", default=True, show_default=True,
              help="A cluster-wide grant when a kind was used in more than one namespace.")
@click.option("--widen-verbs/--no-widen-verbs", default=True, show_default=True,
              help="audit2rbac's verb widening (watch/list → get, list, watch; update/patch → "
              "get, update, patch).")
@click.option("--rbac", "rbac_export", metavar="EXPORT",
              help="Leave out what this RBAC export grants already.")
@click.option("--name-prefix", default="auditlens", show_default=True,
              help="Generated objects are named PREFIX:SUBJECT.")
@click.option("-o", "--output", default="-", help="Output YAML file; '-' for stdout.")
@source_type_option
def rbac_generate(sources: tuple[str, ...], users: tuple[str, ...], service_accounts: tuple[str, ...],
                  all_subjects: bool, include_denied: bool, expand_names: bool,
                  expand_namespaces: bool, widen_verbs: bool, rbac_export: str | None,
                  name_prefix: str, output: str, source_type: str) -> None:
    """Roles and bindings (YAML) that grant each subject what it did in the SOURCES' Kubernetes
    API logs. Denied requests are left out unless --include-denied, and listed in comments.

    \b
    Examples:
      auditlens rbac generate audit.log --user alice > alice-roles.yaml
      auditlens rbac generate audit/ --serviceaccount ns1:builder --rbac cluster-rbac.yaml
      auditlens rbac generate audit/ --all -o generated.yaml
    """
    from .rbac.cli import generate_command

    if not (users or service_accounts or all_subjects):
        raise click.UsageError("say whose roles to generate: --user, --serviceaccount or --all")
    text, note = generate_command(list(sources), source_type=source_type, users=users,
                                  service_accounts=service_accounts, all_subjects=all_subjects,
                                  include_denied=include_denied, expand_names=expand_names,
                                  expand_namespaces=expand_namespaces, widen_verbs=widen_verbs,
                                  existing=rbac_export, name_prefix=name_prefix)
    if output == "-":
        click.echo(text, nl=False)
    else:
        with open(output, "w", encoding="utf-8") as out:
            out.write(text)
    click.echo(note, err=True)


@rbac.command("review")
@click.argument("sources", nargs=-1, required=True)
@click.option("--rbac", "rbac_export", metavar="EXPORT", required=True,
              help="The RBAC export: kubectl get roles,clusterroles,rolebindings,"
              "clusterrolebindings -A -o yaml (or -o json; a file or a folder).")
@click.option("--subjects", "per_subject", is_flag=True,
              help="One row per subject (scores) instead of one per subject and rule.")
@click.option("-o", "--output", help="Output file; '-' or none for stdout (text formats).")
@click.option("-f", "--format", "fmt", help="csv, jsonl, json, parquet, md, xlsx or html; default from -o, else md.")
@click.option("--rejects", "rejects_path", help="Also write the export's malformed objects (file, line, reason) here.")
@source_type_option
def rbac_review(sources: tuple[str, ...], rbac_export: str, per_subject: bool, output: str | None,
                fmt: str | None, rejects_path: str | None, source_type: str) -> None:
    """Granted against used access: each subject's grants in the RBAC export (used or excess),
    the requests no binding explains (uncovered) and the denied ones, with a least-privilege
    score. For every export format use `auditlens report access-review` (also in compliance).

    \b
    Examples:
      auditlens rbac review audit/ --rbac rbac.yaml
      auditlens rbac review audit/ --rbac rbac.json -o review.csv
    """
    from .export import check_output, write_table
    from .rbac.cli import review_command

    to_stdout = output in (None, "-")
    dest: Any = sys.stdout.buffer if to_stdout else output
    fmt = check_output(dest, fmt or ("md" if to_stdout else None)).name
    log = RejectLog()
    review, lines = review_command(list(sources), rbac_export, source_type=source_type, rejects=log)
    table = review.subjects if per_subject else review.rows
    write_table(table, dest, fmt, title="auditlens: access review")
    if to_stdout:
        sys.stdout.flush()
    _write_rejects(log, rejects_path)
    for line in lines:
        click.echo(line, err=True)


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--rules", "rule_paths", multiple=True, type=click.Path(exists=True),
              help="A Sigma rule file or folder (repeatable), e.g. a clone of SigmaHQ/sigma.")
@click.option("--no-builtin", is_flag=True, help="Leave out auditlens' own rule pack.")
@click.option("--level", type=click.Choice(LEVELS),
              help="Run only rules of this level or more severe.")
@click.option("-f", "--format", "fmt", help="csv, jsonl, json, parquet, md, xlsx or html; default from -o, else md.")
@click.option("-o", "--output", help="Output file; '-' or none for stdout (text formats).")
@click.option("--rules-out", help="Also write every rule's fate (run, or why not) to this file.")
@jobs_option
def detect(sources: tuple[str, ...], rule_paths: tuple[str, ...], no_builtin: bool,
           level: str | None, fmt: str | None, output: str | None, rules_out: str | None,
           jobs: int) -> None:
    """Run Sigma rules over audit logs: one row per matching auditd event or Kubernetes request.

    \b
    Examples:
      auditlens detect nodes/ kube-apiserver/
      auditlens detect nodes/ --rules sigma/rules/linux/auditd --level high -o hits.html

    Exit status: 0 when no rule matched, 3 when some did, 1 on an error. Rules that cannot run
    on the input (a field the log lacks, a request body a Metadata-level log does not hold) are
    named on stderr with the reason.
    """
    from .detections import run_detections
    from .export import check_output, format_from_path, write_table

    to_stdout = output in (None, "-")
    dest: Any = sys.stdout.buffer if to_stdout else output
    fmt = check_output(dest, fmt or ("md" if to_stdout else None)).name
    if rules_out:
        check_output(rules_out, format_from_path(rules_out))
    log = RejectLog()
    with _reading_shown():
        result = run_detections(sources, rule_paths, builtin=not no_builtin, level=level,
                                rejects=log, jobs=jobs)
    write_table(result.matches, dest, fmt, title="auditlens detections")
    if to_stdout:
        sys.stdout.flush()
    if rules_out:
        write_table(result.rules, rules_out, format_from_path(rules_out))
    for line in result.not_run_lines():
        click.echo(f"auditlens: {line}", err=True)
    click.echo(f"detect: {result.summary()}; {len(log)} input lines rejected -> {output or 'stdout'}",
               err=True)
    if result.matches.num_rows:
        sys.exit(3)


def _dask_client(address: str | None) -> Any:
    """A Dask client for ``--dask`` (None without it)."""
    from contextlib import nullcontext

    if address is None:
        return nullcontext()
    try:
        from .dask import connect
    except ImportError:
        raise AuditlensError("--dask needs Dask: pip install 'auditlens[dask]'") from None
    return connect(address)


def _sidecar_note(sections: list[Any], output: str, fmt: str | None) -> str:
    """Where an HTML page's longest sections went in full, for the user to keep beside it."""
    from pathlib import Path

    from .export import format_from_path, html_writer

    if (fmt or format_from_path(output)) != "html" or all(
            s.table.num_rows <= html_writer.PAGE_ROWS for s in sections):
        return ""
    folder = html_writer.sidecar_folder(Path(output))
    return f" (the longest sections in full: {folder}/, keep it beside the page)"


@cli.command()
@click.option("--listen", default="127.0.0.1:8443", show_default=True, metavar="HOST:PORT",
              help="Address to listen on; plain HTTP (no --tls-cert) only on loopback.")
@click.option("--out", type=click.Path(file_okay=False), metavar="DIR",
              help="Directory of the stored logs: DIR/<source>/<date>/audit-*.jsonl.")
@click.option("--tls-cert", type=click.Path(dir_okay=False), help="Server certificate (PEM).")
@click.option("--tls-key", type=click.Path(dir_okay=False), help="Server private key (PEM).")
@click.option("--client-ca", type=click.Path(dir_okay=False),
              help="CA (PEM) that signs the apiserver's client certificate: required and verified.")
@click.option("--allow-subject", multiple=True, metavar="SUBJECT",
              help="Only client certificates with this subject (CN=…,O=… or the CN alone); repeat.")
@click.option("--token-file", type=click.Path(dir_okay=False),
              help="File holding the bearer token a client must send (Authorization: Bearer).")
@click.option("--max-body", default="16MiB", show_default=True,
              help="Largest (decompressed) request body; larger gets 413 while being read.")
@click.option("--max-in-flight", default="256MiB", show_default=True,
              help="Request bytes held at once; past it 503 with Retry-After.")
@click.option("--min-free-disk", default="1GiB", show_default=True,
              help="Free space kept on the output disk; under it 503 with Retry-After.")
@click.option("--rotate-size", default="128MiB", show_default=True, help="Close a file at this size.")
@click.option("--rotate-age", default="10m", show_default=True,
              help="Close a file this old (auditlens reads the open file up to its last commit; other tools read closed files).")
@click.option("--retention-age", help="Remove closed files older than this (e.g. 90d).")
@click.option("--retention-size", help="Remove the oldest closed files past this total (e.g. 500GiB).")
@click.option("--silence", default="10m", show_default=True,
              help="A source silent longer than this is a gap (/metrics, audit-trail report); 0: off.")
@click.option("--parquet", "parquet_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Also copy each closed file into this Parquet dataset (cluster=…/date=…/).")
@click.option("--dedup-window", default="1h", show_default=True,
              help="How long a stored batch is remembered to absorb its resends.")
@click.option("--print-kubeconfig", "kubeconfig_url", metavar="URL",
              help="Print the webhook kubeconfig for an apiserver to reach URL, and exit.")
@click.option("--ca-cert", help="With --print-kubeconfig: the CA file path on the apiserver's host.")
@click.option("--client-cert", help="With --print-kubeconfig: the client certificate path.")
@click.option("--client-key", help="With --print-kubeconfig: the client key path.")
def serve(kubeconfig_url: str | None, ca_cert: str | None, client_cert: str | None,
          client_key: str | None, **options: Any) -> None:
    """Receive Kubernetes audit webhook batches and store them durably (needs auditlens[serve]).

    Each batch is answered 200 only once written and fsynced; a batch sent again after a lost
    reply is stored once; a restart after a crash recovers to exactly the acknowledged
    batches. POST /audit or /audit/SOURCE (SOURCE names the folder, e.g. the cluster);
    GET /healthz, /readyz, /metrics. Stops gracefully on SIGTERM.

    \b
    Examples:
      auditlens serve --listen 0.0.0.0:8443 --out /var/lib/auditlens \\
        --tls-cert server.pem --tls-key server-key.pem --client-ca apiserver-ca.pem
      auditlens serve --print-kubeconfig https://audit.example.com:8443/audit/prod \\
        --ca-cert /etc/audit/ca.pem --client-cert /etc/audit/client.pem --client-key /etc/audit/client-key.pem
    """
    if kubeconfig_url:
        from .serve.kubeconfig import webhook_kubeconfig

        click.echo(webhook_kubeconfig(kubeconfig_url, ca_cert=ca_cert, client_cert=client_cert,
                                      client_key=client_key), nl=False)
        return
    if not options["out"]:
        raise click.UsageError("give --out DIR (where the batches are stored)")
    from .serve.config import config_from_options

    config = config_from_options(**options)
    try:
        from .serve.app import run
    except ImportError:
        raise AuditlensError("serve needs aiohttp: pip install 'auditlens[serve]'") from None
    run(config)


def main() -> None:
    """Console entry point."""
    from .scheduler.pool import no_blas_threads

    no_blas_threads()
    cli(prog_name="auditlens")


if __name__ == "__main__":  # pragma: no cover
    main()
