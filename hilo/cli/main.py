"""The `hilo` command."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from hilo.cli import render
from hilo.cli.connect import codec, database, event_bus
from hilo.errors import UserError
from hilo.settings import HiloSettings

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Hilo: WhatsApp and voice conversations, kept as events.",
)
conversation_app = typer.Typer(no_args_is_help=True, help="The unified conversation of a contact.")
projections_app = typer.Typer(no_args_is_help=True, help="Read models built from the store.")
simulate_app = typer.Typer(no_args_is_help=True, help="Send provider-shaped requests to ingest.")
users_app = typer.Typer(no_args_is_help=True, help="Operator accounts for the web app.")
tokens_app = typer.Typer(no_args_is_help=True, help="API bearer tokens for the operator API.")
app.add_typer(conversation_app, name="conversation")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(projections_app, name="projections")
app.add_typer(simulate_app, name="simulate")
flows_app = typer.Typer(no_args_is_help=True, help="Question flows (files in HILO_FLOWS_DIR).")
app.add_typer(flows_app, name="flows")
contacts_app = typer.Typer(no_args_is_help=True, help="Contacts' personal data.")
app.add_typer(contacts_app, name="contacts")
retention_app = typer.Typer(no_args_is_help=True, help="How long audio and transcripts are kept.")
app.add_typer(retention_app, name="retention")


def _settings() -> HiloSettings:
    return HiloSettings()


@app.command()
def up(
    services: Annotated[
        list[str] | None, typer.Option("--service", "-s", help="Start only these services.")
    ] = None,
    replicas: Annotated[
        str | None,
        typer.Option(
            "--replicas",
            help="Processes per service, e.g. analyzer=2,notifier=2 (they share the work"
            " by stream partitions, each conversation in order).",
        ),
    ] = None,
    nats_cluster: Annotated[
        int,
        typer.Option("--nats-cluster", help="Run NATS as a JetStream cluster of this many nodes."),
    ] = 0,
) -> None:
    """Start NATS, PostgreSQL and every service in the foreground; Ctrl-C stops it all."""
    from hilo.cli.stack import up as run_stack

    run_stack(_settings(), services, replicas=replicas, nats_cluster=nats_cluster)


@app.command()
def serve(
    service: Annotated[
        str,
        # A container image built for one service sets HILO_SERVICE, so `hilo serve` suffices.
        typer.Argument(envvar="HILO_SERVICE", help="ingest, recorder, projector, …"),
    ],
) -> None:
    """Run one service alone, as deployed (needs HILO_NATS_URL and HILO_DATABASE_URL)."""
    from hilo.cli.serve import serve as run_service

    settings = _settings()
    if not settings.nats_url or not settings.database_url:
        raise UserError("`hilo serve` needs HILO_NATS_URL and HILO_DATABASE_URL (or use `hilo up`)")
    run_service(service, settings)


def _business_zone(*business_numbers: str | None) -> ZoneInfo:
    """Where the business is: how the CLI shows times (as the analyzer reads them: the
    profile's zone, HILO_TIMEZONE, else its number)."""
    from hilo.business import InvalidProfile
    from hilo.business_time import (
        business_zone,
        configured_business_number,
        configured_timezone,
        profile_timezone,
    )

    try:
        configured = profile_timezone() or configured_timezone(_settings())
    except InvalidProfile:  # the services say what is wrong with it; times still show
        configured = configured_timezone(_settings())
    return business_zone(configured, *business_numbers, configured_business_number()).zone


@app.command()
def migrate() -> None:
    """Apply the database migrations (the store's and every service's) and exit."""
    from hilo.cli.migrate import apply_migrations

    apply_migrations(_settings())


@app.command()
def events(
    stream: Annotated[str | None, typer.Option(help="Only this conversation (E.164).")] = None,
    from_position: Annotated[int, typer.Option("--from", help="Start after this position.")] = 0,
    event_type: Annotated[str | None, typer.Option("--type", help="Only this event type.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
    dead_letters: Annotated[
        bool, typer.Option("--dead-letters", help="Show the dead-letter stream instead.")
    ] = False,
) -> None:
    """Events from the PostgreSQL store in global order (or the dead letters from NATS)."""
    if dead_letters:
        asyncio.run(_dead_letters(limit, as_json))
        return
    asyncio.run(_events(stream, from_position, event_type, limit, as_json))


async def _events(
    stream: str | None, after: int, event_type: str | None, limit: int, as_json: bool
) -> None:
    from hilo.store.eventstore import EventStore

    settings = _settings()
    async with database(settings) as pool:
        store = EventStore(pool, codec(settings, pool))
        if stream:
            from hilo.phones import to_e164

            records = [
                r
                for r in await store.read_stream(to_e164(stream))
                if r.position > after and (event_type is None or r.type == event_type)
            ][:limit]
        else:
            records = await store.read_all(
                after, limit=limit, types=[event_type] if event_type else None
            )
    if as_json:
        for record in records:
            print(json.dumps(render.event_line(record), ensure_ascii=False, default=str))
    else:
        render.console.print(render.events_table(records, _business_zone()))


async def _dead_letters(limit: int, as_json: bool) -> None:
    """Both kinds: events consumers gave up on (NATS), and outbox rows and work items the
    services gave up on (PostgreSQL), each with its reason."""
    from hilo.dead_letters import read_dead_letters
    from hilo.outbox import dead_letters as given_up

    settings = _settings()
    async with event_bus(settings) as bus:
        letters = await read_dead_letters(bus, limit)
    async with database(settings) as pool:
        work = await given_up(pool)
    for item in work[:limit]:
        if as_json:
            print(json.dumps(dataclasses.asdict(item), default=str))
        else:
            render.console.print(
                f"[bold]{item.source}[/] {item.owner} {item.key}: {item.reason}"
                f" (after {item.attempts} attempts)"
            )
    for letter in letters:
        if as_json:
            print(json.dumps(letter, ensure_ascii=False, default=str))
        else:
            render.console.print(
                f"[bold]{letter['sequence']}[/] {letter['consumer']} {letter['subject']}: "
                f"{letter['reason']} (after {letter['deliveries']} deliveries)"
            )
    if not letters and not work and not as_json:
        render.console.print("no dead letters")


@app.command()
def replay(
    from_position: Annotated[int, typer.Option("--from", help="First position (inclusive).")] = 1,
    to_position: Annotated[
        int | None, typer.Option("--to", help="Last position (inclusive).")
    ] = None,
    event_type: Annotated[
        list[str] | None, typer.Option("--type", help="Only these event types.")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be sent.")] = False,
) -> None:
    """Republish stored events to NATS so consumers process them again (idempotently)."""
    from hilo.replay import replay as run_replay

    if to_position is not None and to_position < from_position:
        raise UserError("--to must not be before --from")

    async def main() -> None:
        settings = _settings()
        async with database(settings) as pool:
            if dry_run:
                count = await run_replay(pool, None, from_position, to_position, event_type)
            else:
                async with event_bus(settings, codec(settings, pool)) as bus:
                    count = await run_replay(pool, bus, from_position, to_position, event_type)
        verb = "would republish" if dry_run else "republished"
        print(f"{verb} {count} event(s)", file=sys.stderr)

    asyncio.run(main())


@projections_app.command("rebuild")
def projections_rebuild(
    name: Annotated[str | None, typer.Argument(help="One projection; all when omitted.")] = None,
) -> None:
    """Rebuild projections from position 0 (readers see the old rows until it is done)."""
    from rich.progress import Progress, TaskID

    from hilo.projections.runner import PROJECTIONS, rebuild

    if name is not None and name not in PROJECTIONS:
        raise UserError(f"unknown projection {name!r}; known: {', '.join(PROJECTIONS)}")
    chosen = [name] if name else list(PROJECTIONS)

    async def main() -> None:
        settings = _settings()
        async with database(settings) as pool:
            keys = codec(settings, pool)
            with Progress(transient=False) as progress:
                for projection_name in chosen:
                    task = progress.add_task(f"rebuilding {projection_name}", total=None)

                    def advance(position: int, head: int, task: TaskID = task) -> None:
                        progress.update(task, completed=position, total=head)

                    count = await rebuild(
                        pool, PROJECTIONS[projection_name], progress=advance, codec=keys
                    )
                    progress.update(task, description=f"{projection_name}: {count} events")

    asyncio.run(main())


@conversation_app.command("show")
def conversation_show(
    contact: Annotated[str, typer.Argument(help="The contact's number (E.164).")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The unified conversation of one contact, all channels, from the projection."""
    from hilo.phones import to_e164

    key = to_e164(contact)

    async def main() -> None:
        async with database(_settings()) as pool, pool.acquire() as conn:
            doc = await conn.fetchval(
                "SELECT doc FROM proj_conversations WHERE conversation = $1", key
            )
        if doc is None:
            raise UserError(f"no conversation with {key}")
        if as_json:
            from hilo.projections.conversation import timeline

            shown = {k: v for k, v in doc.items() if k not in ("items", "provider_message_ids")}
            shown["timeline"] = timeline(doc)
            print(json.dumps(shown, ensure_ascii=False, indent=2))
        else:
            zone = _business_zone(doc.get("business_number"))
            render.console.print(render.conversation_table(doc, zone))

    asyncio.run(main())


@conversation_app.command("list")
def conversation_list(limit: Annotated[int, typer.Option()] = 50) -> None:
    """Conversations, most recently active first."""
    from rich.table import Table

    async def main() -> None:
        async with database(_settings()) as pool, pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT conversation, contact_name, provider, mode, message_count, "
                "last_activity_at FROM proj_conversations "
                "ORDER BY last_activity_at DESC NULLS LAST LIMIT $1",
                limit,
            )
        table = Table("contact", "name", "provider", "mode", "messages", "last activity")
        for r in rows:
            table.add_row(
                r["conversation"],
                r["contact_name"] or "",
                r["provider"] or "",
                r["mode"],
                str(r["message_count"]),
                str(r["last_activity_at"] or ""),
            )
        render.console.print(table)

    asyncio.run(main())


@app.command()
def transcribe(
    files: Annotated[list[Path], typer.Argument(help="Audio files (OGG/Opus, AMR, MP4, MP3…).")],
) -> None:
    """Transcribe audio files with the configured transcriber, one JSON line each."""
    from hilo.cli.transcribe import transcribe_files

    transcribe_files(files)


@simulate_app.command("whatsapp")
def simulate_whatsapp(
    text: Annotated[str | None, typer.Argument(help="The message text.")] = None,
    sender: Annotated[str, typer.Option("--from", help="The contact's number (E.164).")] = "",
    audio: Annotated[Path | None, typer.Option("--audio", help="A voice note to send.")] = None,
    url: Annotated[
        str | None,
        typer.Option(help="Ingest's base URL (default http://127.0.0.1:HILO_HTTP_PORT)."),
    ] = None,
    name: Annotated[str, typer.Option("--name", help="The contact's profile name.")] = "Simulador",
) -> None:
    """Send a correctly signed Twilio WhatsApp webhook (text or voice note) to ingest."""
    from hilo.cli.simulate import simulate_whatsapp as send

    if not sender:
        raise UserError("--from NUMBER is required (the contact's number, e.g. +573001112233)")
    print(send(sender, text, audio=audio, url=url, profile_name=name))


@simulate_app.command("call")
def simulate_call(
    to: Annotated[str, typer.Option("--to", help="The contact's number (E.164).")] = "",
    summary: Annotated[str, typer.Option("--summary", help="What the call was about.")] = "",
    url: Annotated[
        str | None,
        typer.Option(help="Ingest's base URL (default http://127.0.0.1:HILO_HTTP_PORT)."),
    ] = None,
) -> None:
    """Send a correctly signed ElevenLabs post-call webhook for a finished call to ingest."""
    from hilo.cli.simulate_call import simulate_call as send

    if not to or not summary.strip():
        raise UserError("--to NUMBER and --summary TEXT are both required")
    print(send(to, summary, url=url))


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="The operator's e-mail (their sign-in name).")],
    role: Annotated[str, typer.Option("--role", help="admin or agent.")] = "agent",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Add an operator account (the password is prompted for, or read from stdin)."""
    from hilo.cli.operators import add_user

    print(add_user(_settings(), email, role, password_stdin))


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "",
    role: Annotated[str, typer.Option("--role", help="admin or agent.")] = "agent",
) -> None:
    """Create an API bearer token; it is printed once, alone on the last line."""
    from hilo.cli.operators import create_token

    if not name:
        raise UserError("--name NAME is required")
    token = create_token(_settings(), name, role)
    print(f"token {name!r} ({role}); keep it now, it is not shown again:", file=sys.stderr)
    print(token)


@tokens_app.command("revoke")
def tokens_revoke(name: Annotated[str, typer.Argument(help="The token's name.")]) -> None:
    """Revoke an API token: it stops working at once."""
    from hilo.cli.operators import revoke_token

    revoke_token(_settings(), name)
    print(f"revoked {name}")


@tokens_app.command("list")
def tokens_list() -> None:
    """The API tokens by name and role (never the tokens themselves)."""
    from hilo.cli.operators import list_tokens

    for line in list_tokens(_settings()):
        print(line)


@app.command()
def analyze(
    file: Annotated[Path, typer.Argument(help="Conversations, one JSON object a line.")],
) -> None:
    """Analyse a file of conversations (docs/ANALYSIS_DATA.md format), one JSON line each."""
    from hilo.cli.analyze import analyze_file

    analyze_file(file)


@app.command()
def reanalyze(
    contact: Annotated[
        str | None, typer.Option("--contact", help="Only this contact (E.164).")
    ] = None,
) -> None:
    """Re-run the current analyzer over stored conversations (publishes changes, never replies)."""
    from hilo.cli.reanalyze import reanalyze as run_reanalyze

    run_reanalyze(_settings(), contact)


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would expire; change nothing.")
    ] = False,
) -> None:
    """Expire audio and transcripts older than their retention now (the transcriber does it
    every TRANSCRIBER_RETENTION_INTERVAL_SECONDS); prints what it did or would do."""
    from hilo.cli.retention import run as run_retention

    run_retention(_settings(), dry_run)


@flows_app.command("validate")
def flows_validate(
    path: Annotated[
        Path | None, typer.Argument(help="A flow file or a folder (default HILO_FLOWS_DIR).")
    ] = None,
) -> None:
    """Check flow files: every error with its file and line; exit 1 if any."""
    from hilo.cli.flows import validate

    validate(path)


@flows_app.command("list")
def flows_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
) -> None:
    """The flows in HILO_FLOWS_DIR: keywords, questions, outside API."""
    from hilo.cli.flows import list_flows

    list_flows(as_json)


@contacts_app.command("forget")
def contacts_forget(
    number: Annotated[
        str, typer.Argument(help="The contact's number (+34…, 0034…, whatsapp:+34…).")
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    wait: Annotated[
        float,
        typer.Option(
            "--wait", min=0, help="Seconds to wait for every service's erasure (0: do not wait)."
        ),
    ] = 60.0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Forget a contact: destroy their keys (everything sealed with them becomes unreadable),
    then wait for every service to delete its readable copies, and show what each erased."""
    from hilo.cli.contacts import forget

    forget(_settings(), number, yes=yes, wait=wait, as_json=as_json)


def run() -> None:
    """Entry point: user mistakes become one line on stderr and exit code 1."""
    try:
        app()
    except UserError as exc:
        print(f"hilo: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    except ModuleNotFoundError as exc:
        # A command that runs a service's code, on an install without that service's extra.
        if exc.name is None or exc.name.split(".")[0] in {"hilo", "schemas", "services"}:
            raise
        print(
            f"hilo: this command needs the package {exc.name!r}, which this installation lacks; "
            "install the extra of the service it runs (e.g. pip install 'hilo[transcriber]') "
            "or everything (pip install 'hilo[all]')",
            file=sys.stderr,
        )
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


if __name__ == "__main__":
    run()
