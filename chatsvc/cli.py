"""The `chatsvc` command: serve, mail-in, db upgrade, kb, agents, open311, ask, eval."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import secrets
import signal
import sys
from collections.abc import Coroutine
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from chatsvc.actions import accounts, open311_clients
from chatsvc.app import MAIL_IN, create_app
from chatsvc.bot.evaluation import EvalFileError, evaluate, read_examples
from chatsvc.bot.matcher import Decision, build_index, decide
from chatsvc.catalogue.knowledge import KnowledgeBaseError, load_knowledge_base, touch_for_reload
from chatsvc.db.database import Database
from chatsvc.db.engine import create_engine, upgrade
from chatsvc.errors import AccountError, ChatError
from chatsvc.settings import Settings, SettingsError

log = logging.getLogger("chatsvc")

T = TypeVar("T")
STOP_SECONDS = 5.0
GC_THRESHOLDS = (20_000, 20, 100)  # CPython's defaults: (700, 10, 10)


def main(argv: list[str] | None = None) -> int:
    """Run the chatsvc command line."""
    parser = argparse.ArgumentParser(prog="chatsvc", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the service (HTTP + Socket.IO)")
    commands.add_parser(
        "mail-in", help="receive residents' replies by email (SMTP, relayed by the mail server)"
    )
    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply every pending migration")
    kb = commands.add_parser("kb", help="the knowledge base")
    kb_commands = kb.add_subparsers(dest="kb_command", required=True)
    kb_commands.add_parser("check", help="validate every file of the knowledge base")
    kb_commands.add_parser("reload", help="validate, then make running servers pick up the edits")
    agents = commands.add_parser("agents", help="staff accounts")
    agent_commands = agents.add_subparsers(dest="agents_command", required=True)
    add = agent_commands.add_parser("add", help="create an account (prints a new password)")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="display name, e.g. 'Maria Lopez'")
    add.add_argument("--role", choices=accounts.ROLES, default="agent")
    add.add_argument(
        "--workgroup", action="append", default=[], help="a workgroup of the topic catalogue"
    )
    add.add_argument("--max-chats", type=int, default=3)
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    agent_commands.add_parser("list", help="list the accounts")
    disable = agent_commands.add_parser("disable", help="disable an account, ending its sessions")
    disable.add_argument("username")
    password = agent_commands.add_parser("set-password", help="set a new password")
    password.add_argument("username")
    password.add_argument("--password-stdin", action="store_true")
    agent_commands.add_parser(
        "demo", help="create the demo agent and supervisor if there are no accounts"
    )
    open311 = commands.add_parser("open311", help="apps allowed to file requests through Open311")
    open311_commands = open311.add_subparsers(dest="open311_command", required=True)
    open311_add = open311_commands.add_parser("add", help="register an app (prints its API key)")
    open311_add.add_argument("name", help="the app's name, e.g. 'the city's mobile app'")
    open311_commands.add_parser("list", help="list the apps and whether their key works")
    open311_revoke = open311_commands.add_parser("revoke", help="refuse an app's key from now on")
    open311_revoke.add_argument("name")
    ask = commands.add_parser("ask", help="show what the assistant makes of a question")
    ask.add_argument("text")
    ask.add_argument("--json", action="store_true", help="print the decision as JSON")
    evaluate = commands.add_parser("eval", help="measure the assistant on labelled questions")
    evaluate.add_argument("file", type=Path, help='JSON lines {"text": ..., "expect": ...}')
    evaluate.add_argument("--min-accuracy", type=float, default=None)
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"chatsvc: {exc}", file=sys.stderr)
        return 2
    if args.command in ("kb", "ask", "eval"):
        return bot_command(args, settings)
    if args.command == "agents":
        return run(agents_command(args, settings))
    if args.command == "open311":
        return run(open311_command(args, settings))
    configure_logging(settings.log_level)
    if args.command == "serve":
        return run(serve(settings))
    if args.command == "mail-in":
        return run(mail_in(settings))
    run(upgrade_database(settings))
    print("database schema is up to date")
    return 0


def bot_command(args: argparse.Namespace, settings: Settings) -> int:
    """The knowledge base and assistant commands: kb check/reload, ask, eval."""
    try:
        kb = load_knowledge_base(settings.knowledge_base)
    except KnowledgeBaseError as exc:
        print(f"the knowledge base at {settings.knowledge_base} is broken:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    if args.command == "kb":
        languages = "".join(
            f", {code}: {len(pack.articles)} articles" for code, pack in kb.languages.items()
        )
        print(
            f"knowledge base OK: {len(kb.topics)} topics, {len(kb.articles)} articles, "
            f"{len(kb.synonyms)} synonym entries{languages} ({settings.knowledge_base})"
        )
        if args.kb_command == "reload":
            touch_for_reload(settings.knowledge_base)
            print("running servers reload it within a few seconds")
            return 0
        if kb.warnings:
            # Usable (English stands in for a missing translation), but not finished.
            print(f"{len(kb.warnings)} translation problems:", file=sys.stderr)
            for warning in kb.warnings:
                print(f"  {warning}", file=sys.stderr)
            return 1
        return 0
    index = build_index(kb)
    if args.command == "ask":
        decision = decide(args.text, index)
        if args.json:
            print(json.dumps(decision.as_dict(), indent=2))
        else:
            print(describe(decision))
        return 0
    try:
        examples = read_examples(args.file, set(kb.topics))
    except (OSError, EvalFileError) as exc:
        print(f"chatsvc eval: {exc}", file=sys.stderr)
        return 2
    report = evaluate(examples, index)
    print("\n".join(report.lines()))
    if args.min_accuracy is not None and report.accuracy < args.min_accuracy:
        print(f"below --min-accuracy {args.min_accuracy:.3f}", file=sys.stderr)
        return 1
    return 0


DEMO_ACCOUNTS = (
    ("demo-agent", "Maria Lopez", "agent", "demo-agent-password"),
    ("demo-supervisor", "Sam Carter", "supervisor", "demo-supervisor-password"),
)


async def open_database(settings: Settings, command: str) -> Database | None:
    """Open the database for an admin command, or say why it cannot be opened."""
    database = Database(settings)
    try:
        await database.open()
    except Exception as exc:
        print(f"chatsvc {command}: cannot open the database: {exc}", file=sys.stderr)
        return None
    return database


async def agents_command(args: argparse.Namespace, settings: Settings) -> int:
    """agents add / list / disable / set-password / demo."""
    database = await open_database(settings, "agents")
    if database is None:
        return 1
    now = datetime.now(UTC)
    try:
        if args.agents_command == "add":
            workgroups = tuple(args.workgroup)
            unknown = set(workgroups) - known_workgroups(settings)
            if unknown:
                raise AccountError(
                    f"unknown workgroup {sorted(unknown)[0]!r} (see knowledge_base/topics.toml)"
                )
            secret = read_password() if args.password_stdin else secrets.token_urlsafe(12)
            staff = await database.run(
                accounts.add_staff,
                username=args.username,
                display_name=args.name,
                role=args.role,
                password=secret,
                workgroups=workgroups,
                max_chats=args.max_chats,
                now=now,
            )
            print(f"added {staff.username} ({staff.role})")
            if not args.password_stdin:
                print(f"password: {secret}")
        elif args.agents_command == "list":
            for staff in await database.run(accounts.list_staff):
                state = "disabled" if staff.disabled else "active"
                groups = ", ".join(staff.workgroups) or "-"
                print(
                    f"{staff.username:20} {staff.role:10} {state:8} max {staff.max_chats}  "
                    f"{staff.display_name}  [{groups}]"
                )
        elif args.agents_command == "disable":
            staff = await database.run(accounts.disable_staff, username=args.username)
            print(f"disabled {staff.username}; their sessions are ended")
        elif args.agents_command == "set-password":
            secret = read_password() if args.password_stdin else secrets.token_urlsafe(12)
            staff = await database.run(
                accounts.set_password, username=args.username, password=secret
            )
            print(f"new password set for {staff.username}; their sessions are ended")
            if not args.password_stdin:
                print(f"password: {secret}")
        else:
            await demo_accounts(database, settings, now)
    except AccountError as exc:
        print(f"chatsvc agents: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await database.close()
    return 0


async def open311_command(args: argparse.Namespace, settings: Settings) -> int:
    """open311 add / list / revoke: the apps that may file requests, by API key."""
    database = await open_database(settings, "open311")
    if database is None:
        return 1
    now = datetime.now(UTC)
    try:
        if args.open311_command == "add":
            issued = await database.run(open311_clients.issue_key, args.name, now)
            print(f"added {issued.client.name}")
            # Only a hash is stored: this is the one time anyone sees the key.
            print(f"api_key: {issued.key}")
        elif args.open311_command == "list":
            clients = await database.run(open311_clients.list_clients)
            if not clients:
                print("no Open311 clients yet: add one with `chatsvc open311 add NAME`")
            for client in clients:
                state = f"revoked {client.revoked_at:%Y-%m-%d}" if client.revoked_at else "active"
                print(f"{client.name:40} {state:18} added {client.created_at:%Y-%m-%d}")
        else:
            client = await database.run(open311_clients.revoke, args.name, now)
            print(f"revoked {client.name}; its key is refused from now on")
    except ChatError as exc:
        print(f"chatsvc open311: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await database.close()
    return 0


async def demo_accounts(database: Database, settings: Settings, now: datetime) -> None:
    """On the embedded default, create the demo accounts when there are none; print them."""
    if not settings.is_sqlite:
        print("demo accounts are only made on the embedded default (SQLite)")
        return
    if not await database.run(accounts.list_staff):
        for username, name, role, secret in DEMO_ACCOUNTS:
            await database.run(
                accounts.add_staff,
                username=username,
                display_name=name,
                role=role,
                password=secret,
                workgroups=tuple(sorted(known_workgroups(settings))),
                max_chats=3,
                now=now,
            )
    for username, _, role, secret in DEMO_ACCOUNTS:
        if await database.run(accounts.password_matches, username=username, password=secret):
            print(f"demo {role}: {username} / {secret}  (sign in at /agent)")


def known_workgroups(settings: Settings) -> set[str]:
    try:
        kb = load_knowledge_base(settings.knowledge_base)
    except KnowledgeBaseError:
        return set()
    return {topic.workgroup for topic in kb.topics.values()}


def read_password() -> str:
    return sys.stdin.readline().rstrip("\n")


def describe(decision: Decision) -> str:
    """Say a decision in a few lines for people."""
    lines = [f"intent: {decision.intent}  ({decision.band}, score {decision.score:.3f})"]
    if decision.language != "en":
        lines.append(f"language: {decision.language}")
    if decision.crisis:
        lines.append("crisis: 988 as well as 911")
    if decision.article_id:
        lines.append(f"article: {decision.article_id}")
    if decision.request_number:
        lines.append(f"request number: {decision.request_number}")
    for s in decision.suggestions:
        lines.append(f"  suggestion: {s.topic} / {s.article_id} ({s.score:.3f}) {s.title}")
    return "\n".join(lines)


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` on uvloop where it is installed (about a third more messages per second
    than asyncio's own loop on this service), else on asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def configure_logging(level: str) -> None:
    """Log one line per event to stderr."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # aiohttp's access log is one line per request: useful at DEBUG, noise at INFO.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


async def upgrade_database(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


MAIL_IN_PORT = 2525


async def mail_in(settings: Settings) -> int:
    """Run the inbound mail server (and no HTTP) until SIGINT or SIGTERM.

    The app's parts run as in `serve` (the database, the events to other processes through
    Redis, the mail sender), so what a reply changes reaches the staff's panes."""
    if not settings.mail_reply_domain:
        log.error("cannot start: set CHATSVC_MAIL_REPLY_DOMAIN, the domain of the reply addresses")
        return 2
    if settings.mail_in_port is None:
        settings = replace(settings, mail_in_port=MAIL_IN_PORT)
    if settings.redis_url is None:
        log.warning(
            "mail-in: no REDIS_URL: replies are stored, but open panes see them only when "
            "they reload; set REDIS_URL, or CHATSVC_MAIL_IN_PORT for `serve` to receive mail"
        )
    app = create_app(settings)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=STOP_SECONDS)
    try:
        await runner.setup()
    except Exception as exc:
        log.error("cannot start: %s", exc)
        return 1
    log.info("chatsvc mail-in listening on %s:%d", settings.mail_in_host, app[MAIL_IN].port)
    return await _until_signal(runner, "chatsvc mail-in")


async def serve(settings: Settings) -> int:
    """Run the app until SIGINT or SIGTERM."""
    app = create_app(settings)
    # On stop, requests in progress get a few seconds: open Socket.IO connections are closed
    # first (their clients reconnect elsewhere), and a poll nobody collects must not hold the
    # process for aiohttp's default minute.
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=STOP_SECONDS)
    try:
        await runner.setup()
    except Exception as exc:
        log.error("cannot start: %s", exc)
        return 1
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    # The cyclic garbage collector's full collections walk every live object: with thousands
    # of connections they took 35-170 ms, a stall every few seconds that showed as p99 latency
    # (bench/scale.py). What start-up built (modules, the knowledge base's index) lives as long
    # as the process: frozen, no collection walks it again. Young collections also run less
    # often, and full ones a tenth as often; nearly all our garbage is freed by reference
    # counting anyway, so memory does not grow for it.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    host, port = runner.addresses[0][:2]
    # Tests and scripts read this line to learn the port (CHATSVC_PORT=0 picks a free one).
    log.info("chatsvc listening on http://%s:%d", host, port)
    if settings.host in {"127.0.0.1", "0.0.0.0", "localhost"}:
        log.info("demo city page with the chat widget: http://localhost:%d/", port)
    return await _until_signal(runner, "chatsvc")


async def _until_signal(runner: web.AppRunner, name: str) -> int:
    """Run until SIGINT or SIGTERM, then stop the app in order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("%s stopping", name)
    await runner.cleanup()
    return 0
