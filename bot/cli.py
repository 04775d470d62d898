"""`shipmate` (also `python -m bot`): run, doctor, db upgrade, manifest, policy check and explain, webhook sign,
audit verify, export changes and verify (`bot/evidence_cli.py`)."""

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from datetime import date
from pathlib import Path

from aiohttp import web
from pydantic import ValidationError

from bot import logs
from bot.domain.policy import PolicyError
from bot.domain.policy_explain import explain
from bot.manifest import manifest
from bot.policy_dir import load
from bot.policy_source import read_file, resolve
from bot.settings import Settings
from storage.token_cipher import TokenCipher

log = logging.getLogger("shipmate")


def _fail(message: str) -> int:
    print(f"shipmate: {message}", file=sys.stderr)
    return 2


def _settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper() if error["loc"] else "settings"
        raise SystemExit(_fail(f"{name}: {error['msg'].removeprefix('Value error, ')}")) from None
    logs.configure(settings.shipmate_log_format)
    return settings


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings()
    mode = args.mode or ("socket" if settings.slack_app_token else "http")
    missing = settings.missing_for(mode)
    if missing:
        return _fail(f"cannot start in {mode} mode: set {', '.join(missing)} (see README, 'Configure').")
    try:
        policies = load(settings)
    except PolicyError as exc:
        return _fail(f"policy: {exc}")
    port = args.port or settings.port
    host = args.host or settings.shipmate_host
    from storage.migrate import upgrade

    try:
        upgrade(settings.database_url)
    except Exception as exc:  # a clear line, not a traceback: the usual cause is an unreachable database
        return _fail(f"cannot migrate the database ({type(exc).__name__}: {exc})")
    from bot.server import create_app, hand_over_on_sigterm

    app = create_app(settings, policies, mode="socket" if mode == "socket" else "http")
    hand_over_on_sigterm(app, settings.shipmate_drain_seconds)
    log.info("policy in force: %s", policies.origin)
    log.info("starting in %s mode on %s port %s", mode, host, port)
    web.run_app(
        app,
        host=host,
        port=port,
        shutdown_timeout=settings.shipmate_shutdown_timeout,
        access_log_class=logs.AccessLogger,
        print=lambda _text: log.info("listening on %s port %s (%s mode)", host, port, mode),
    )
    return 0


def cmd_db_upgrade(_args: argparse.Namespace) -> int:
    settings = _settings()
    from storage.migrate import upgrade

    try:
        upgrade(settings.database_url)
    except Exception as exc:
        return _fail(f"cannot migrate the database ({type(exc).__name__}: {exc})")
    print("shipmate: database is at the latest migration")
    return 0


def cmd_manifest(args: argparse.Namespace) -> int:
    url = args.url or os.environ.get("SHIPMATE_PUBLIC_URL") or None
    print(json.dumps(manifest(url, socket=args.socket), indent=2))
    return 0


def cmd_policy_check(args: argparse.Namespace) -> int:
    try:
        if args.file:
            origin, policy = args.file, read_file(Path(args.file))
        else:
            source = resolve(_settings())
            if source.is_default:
                return _fail(
                    "no policy is set (SHIPMATE_POLICY_TOML, SHIPMATE_POLICY, ./shipmate.toml): "
                    "the built-in defaults apply"
                )
            origin, policy = source.origin, source.policy
    except PolicyError as exc:
        return _fail(str(exc))
    print(f"{origin}: ok ({len(policy.environments)} environments: {' → '.join(policy.environment_names)})")
    return 0


def cmd_webhook_sign(args: argparse.Namespace) -> int:
    """The v2 signature headers for a body, for wiring CI by hand (`curl -H @headers --data-binary @body`)."""
    from bot import signing

    secret = _settings().shipmate_webhook_secret
    if not secret:
        return _fail("set SHIPMATE_WEBHOOK_SECRET to the secret the server uses.")
    try:
        body = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        return _fail(f"{args.file}: {exc.strerror or exc}")
    for name, value in signing.sign(secret, body, now=time.time()).items():
        print(f"{name}: {value}")
    return 0


def cmd_doctor(_args: argparse.Namespace) -> int:
    from bot.doctor import run

    settings = _settings()
    ok = asyncio.run(run(settings, lambda check: print(check.line, flush=True)))
    return 0 if ok else 1


def cmd_team_purge(args: argparse.Namespace) -> int:
    from bot import team_purge

    settings = _settings()
    return asyncio.run(
        team_purge.run(settings, args.team_id, yes=args.yes, say=lambda line: print(f"shipmate: {line}"))
    )


def cmd_keygen(_args: argparse.Namespace) -> int:
    print(TokenCipher.generate_key())
    return 0


def cmd_policy_explain(args: argparse.Namespace) -> int:
    """Every rule a person can be refused by: who may approve, deploy, roll back and sign off in each environment,
    then who may do the rest (reject, edit, freeze, reviews, …), under FILE or the policy in force (the same sources
    as `shipmate run`); user groups stay ids, nothing is asked of Slack."""
    try:
        if args.file:
            origin, policy = args.file, read_file(Path(args.file))
        elif args.team:
            settings = _settings()
            found = load(settings)
            origin, policy = found.origin, found.for_team(args.team)
            if settings.shipmate_policy_dir is not None:
                origin = f"{found.origin}: {found.origin_for(args.team)}"
        else:
            source = resolve(_settings())
            origin, policy = source.origin, source.policy
    except PolicyError as exc:
        return _fail(str(exc))
    print(f"shipmate: who may do what under {origin}", file=sys.stderr)
    print(explain(policy), end="")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from bot import evidence_cli

    return evidence_cli.audit_verify(_settings(), args)


def cmd_export_changes(args: argparse.Namespace) -> int:
    from bot import evidence_cli

    return evidence_cli.export_changes(_settings(), args)


def cmd_export_verify(args: argparse.Namespace) -> int:
    from bot import evidence_cli

    return evidence_cli.export_verify(_settings(), args)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write it as YYYY-MM-DD") from None


def _evidence_parsers(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    audit = sub.add_parser("audit", help="the audit trail: check its hash chain")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    check = audit_sub.add_parser("verify", help="walk the hash chain; exit 1 naming the first broken event")
    check.add_argument("--team", help="one workspace (Slack team id); default: every workspace")
    check.set_defaults(func=cmd_audit_verify)
    export = sub.add_parser("export", help="evidence for auditors: production changes as CSV or JSON")
    export_sub = export.add_subparsers(dest="export_command", required=True)
    changes = export_sub.add_parser("changes", help="one row per production change (final environment), by day")
    changes.add_argument("--from", dest="start", type=_day, required=True, help="first day (YYYY-MM-DD, UTC)")
    changes.add_argument("--to", dest="end", type=_day, required=True, help="last day, included (YYYY-MM-DD, UTC)")
    changes.add_argument("--team", help="the workspace (Slack team id); default: the only one in the database")
    changes.add_argument("--format", choices=["csv", "json"], default="csv", help="default: csv (RFC 4180)")
    changes.add_argument("--out", help="write to FILE (a CSV gets FILE.chain.json beside it); default: stdout")
    changes.set_defaults(func=cmd_export_changes)
    again = export_sub.add_parser("verify", help="re-check an export's rows against the database and the chain")
    again.add_argument("file", help="an export written with --out (a CSV needs its FILE.chain.json), or sent in Slack")
    again.add_argument("--team", help="for a CSV sent in Slack (no FILE.chain.json): its workspace")
    again.add_argument("--from", dest="start", type=_day, help="for a CSV sent in Slack: its first day")
    again.add_argument("--to", dest="end", type=_day, help="for a CSV sent in Slack: its last day")
    again.add_argument("--head", help="for a CSV sent in Slack: the audit chain head its comment gives")
    again.set_defaults(func=cmd_export_verify)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="shipmate", description="Release management in Slack.")
    sub = root.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="serve Slack (HTTP or Socket Mode)")
    run.add_argument("--mode", choices=["http", "socket"], help="default: socket when SLACK_APP_TOKEN is set")
    run.add_argument("--port", type=int, help="default: $PORT, else 3000")
    run.add_argument("--host", help="address to listen on; default: $SHIPMATE_HOST, else 0.0.0.0 (every interface)")
    run.set_defaults(func=cmd_run)
    doctor = sub.add_parser("doctor", help="check the Slack app, policy, database and secrets; exit 1 on a problem")
    doctor.set_defaults(func=cmd_doctor)
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply pending migrations").set_defaults(func=cmd_db_upgrade)
    man = sub.add_parser("manifest", help="print the Slack app manifest (JSON)")
    man.add_argument(
        "--url", help="public base URL of this server, e.g. https://shipmate.example.com (default: SHIPMATE_PUBLIC_URL)"
    )
    man.add_argument("--socket", action="store_true", help="Socket Mode: no request URLs")
    man.set_defaults(func=cmd_manifest)
    policy = sub.add_parser("policy", help="policy file tools")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True)
    check = policy_sub.add_parser("check", help="validate the policy file")
    check.add_argument(
        "file", nargs="?", help="default: the policy in force (SHIPMATE_POLICY_TOML, SHIPMATE_POLICY, …)"
    )
    check.set_defaults(func=cmd_policy_check)
    explained = policy_sub.add_parser(
        "explain", help="who may do what: approve, deploy, roll back, sign off per environment, and every other rule"
    )
    explained.add_argument(
        "file", nargs="?", help="default: the policy in force (SHIPMATE_POLICY_TOML, SHIPMATE_POLICY, …)"
    )
    explained.add_argument(
        "--team", help="the policy of this workspace (T…): its own file in SHIPMATE_POLICY_DIR, or default.toml"
    )
    explained.set_defaults(func=cmd_policy_explain)
    team = sub.add_parser("team", help="a workspace's data")
    team_sub = team.add_subparsers(dest="team_command", required=True)
    purged = team_sub.add_parser("purge", help="delete everything kept for a workspace that removed Shipmate")
    purged.add_argument("team_id", help="the workspace (T…)")
    purged.add_argument("--yes", action="store_true", help="delete for good (without it: only say what would go)")
    purged.set_defaults(func=cmd_team_purge)
    sub.add_parser("keygen", help="print a new SHIPMATE_ENCRYPTION_KEY").set_defaults(func=cmd_keygen)
    webhook = sub.add_parser("webhook", help="tools for Shipmate's signed webhooks")
    webhook_sub = webhook.add_subparsers(dest="webhook_command", required=True)
    sign = webhook_sub.add_parser(
        "sign", help="print the signature headers for a body (valid for 5 minutes; reads SHIPMATE_WEBHOOK_SECRET)"
    )
    sign.add_argument("file", help="the exact body to send (JSON), or - for standard input")
    sign.set_defaults(func=cmd_webhook_sign)
    _evidence_parsers(sub)
    return root


def main(argv: list[str] | None = None) -> int:
    logs.configure()  # text until the settings say otherwise (SHIPMATE_LOG_FORMAT)
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
