"""Settings: one frozen dataclass, read from the environment once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/chatsvc.db"
DEFAULT_KNOWLEDGE_BASE = Path(__file__).resolve().parent.parent / "knowledge_base"


class SettingsError(ValueError):
    """A setting in the environment has a value we cannot use."""


@dataclass(frozen=True)
class Rate:
    """A token bucket's size: `burst` events at once, then `per_minute` a minute."""

    burst: int
    per_minute: float


# Socket events each connection may send, by kind (a burst, then so many a minute); the
# event's @socket_event(limit=...) names its kind. A resident typing fast never reaches them.
SOCKET_RATES = {
    "message": Rate(20, 60),
    "start": Rate(5, 6),
    "resume": Rate(10, 30),
    "typing": Rate(30, 120),
    "read": Rate(30, 120),
    "leave_message": Rate(5, 5),
    "resume_link": Rate(5, 10),  # a mail's link back to a chat, exchanged for the chat's token
    "resident": Rate(20, 60),  # the resident's other events (end, hours, visibility)
    "agent": Rate(200, 1200),  # every /agent event: staff are signed in, panes are chatty
}
# The help center's public pages, per client address (a burst, then so many a minute):
# "help_page" every page and search, "help_form" every form sent (a vote, a status lookup).
HTTP_RATES = {
    "help_page": Rate(60, 120),
    "help_form": Rate(10, 10),
}


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment."""

    database_url: str = DEFAULT_DATABASE_URL
    # Set with several processes: Socket.IO events then reach clients of every process.
    redis_url: str | None = None
    # Processes that share a channel share events: one per installation (or per city).
    redis_channel: str = "chatsvc"
    host: str = "127.0.0.1"
    port: int = 8080
    allowed_origins: tuple[str, ...] = ()
    token_ttl: timedelta = timedelta(hours=168)
    max_payload_bytes: int = 65_536
    log_level: str = "INFO"
    auto_migrate: bool | None = None
    trust_proxy_headers: bool = False
    knowledge_base: Path = DEFAULT_KNOWLEDGE_BASE
    knowledge_base_poll_seconds: float = 2.0
    agent_grace: timedelta = timedelta(seconds=60)
    idle_close: timedelta = timedelta(minutes=30)
    # A waiting resident gone (no connection) this long leaves the queue as a left message.
    queue_abandon: timedelta = timedelta(minutes=5)
    sweep_seconds: float = 5.0
    # A process whose heartbeat (every sweep) is this old is taken for dead: its connections go
    # and its agents' grace periods start. Never less than six sweeps or half the grace.
    process_dead_seconds: float = 30.0
    # Business hours (chatsvc/hours.py parses them): weekly hours, time zone, closures file.
    business_hours: str = "mon-fri 08:00-17:00"
    timezone: str = "America/Los_Angeles"
    closures_file: Path | None = None
    holidays: str = "US-CA"  # public holidays observed: country-subdivision, or "" for none
    # Leave-a-message: offered during hours too when the estimated wait is longer than this.
    message_when_wait_over: timedelta = timedelta(minutes=10)
    # Reports: the service level is the share of chats answered within this many seconds.
    service_level_seconds: int = 30
    # Reports: the service level the center aims for, in percent (shown against the measure).
    service_level_target_percent: int = 80
    # The monthly report's PDF is printed on this paper: "letter" or "a4".
    report_paper: str = "letter"
    messages_per_ip_per_hour: int = 5
    messages_per_email_per_day: int = 5
    # Staff sign-in: password checks run in this many threads; more sign-ins than
    # sign_in_max_pending waiting or running at once, or more than the per-address or the
    # overall rate (a burst of as many, then so many a minute), are refused before any hashing.
    sign_in_workers: int = 1
    sign_in_max_pending: int = 8
    sign_in_attempts_per_address_per_minute: int = 10
    sign_in_attempts_per_minute: int = 30  # overall, per process: 30 checks cost ~3 s of CPU
    # Signs the sign-in form's CSRF token. Empty: one is generated once and kept in the
    # database, so every process shares it.
    secret_key: str = field(default="", repr=False)
    # Mail: SMTP when a host is set; otherwise each mail is written to mail_folder as .eml.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_security: str = "starttls"  # starttls, tls or none
    # Empty: the center's name (knowledge_base/center.toml) at no-reply@localhost, read when a
    # mail is sent, since settings are read before the knowledge base (which also reloads).
    mail_from: str = ""
    # Empty: the center's name at its `email` (center.toml), read the same way: our mail asks
    # residents to reply, so a reply must reach the center whatever the From says.
    mail_reply_to: str = ""
    mail_folder: Path = Path("var/mail")
    # Replies by email: mail of a thread (a chat, a left message, a request) is answered at
    # reply+<signed reference>@mail_reply_domain, which the city's mail server relays to
    # `chatsvc mail-in`. Empty: mail keeps the center's Reply-To and replies go to people.
    mail_reply_domain: str = ""
    # Signs the reply addresses. Empty: one is generated once and kept in the database.
    mail_reply_secret: str = field(default="", repr=False)
    # The inbound SMTP server (chatsvc mail-in, or `serve` too when the port is set).
    mail_in_host: str = "127.0.0.1"
    mail_in_port: int | None = None
    mail_in_max_bytes: int = 15_000_000  # one mail's DATA, attachments and all
    mail_in_per_sender_per_hour: int = 10
    mail_in_per_hour: int = 300  # overall, per process
    # Mails of every kind one address may be sent in 24 hours (more are not queued).
    mail_per_address_per_day: int = 5
    # Where residents reach this service (https://chat.example.gov): the mails' unsubscribe
    # links start with it. Empty: http://host:port, for development only.
    public_url: str = ""
    # The city page that hosts the widget: a mail's link back to a chat opens it (with the
    # link's code in the fragment). Empty: the service's own demo page (base_url + "/").
    site_url: str = ""
    # An agent's message the resident has not read this long after it was written, while
    # the resident is gone (no connection), is mailed to them with a link back to the chat.
    unread_mail_after: timedelta = timedelta(minutes=5)
    # How long that link works (once).
    resume_link_ttl: timedelta = timedelta(days=7)
    # A connection whose request headers have not all arrived, or that is idle between requests,
    # is closed after this many seconds (aiohttp's keepalive_timeout).
    http_idle_timeout_seconds: int = 30
    # A request body (forms, Open311 filings, long-polling POSTs) must have arrived this many
    # seconds after its headers, or the request is answered 408 and its connection closed. The
    # photo upload has its own deadline (upload_seconds).
    http_body_seconds: int = 30
    # Open311 filings one API key may make a minute (a token bucket: a burst of this many).
    open311_filings_per_minute: int = 30
    # Chat status lookups with a wrong email, per request number per 24 hours, from any chat.
    status_misses_per_number_per_day: int = 10
    # Per client address in 24 hours (several people may share one: a household, an office, a
    # library): chats started, requests the City Assistant files, wrong status lookups.
    conversations_per_address_per_day: int = 50
    filings_per_address_per_day: int = 20
    status_misses_per_address_per_day: int = 20
    # Departments' webhooks: a TOML file of workgroup, URL and secret (webhooks.example.toml).
    webhooks_file: Path | None = None
    # Socket events per connection by kind (SOCKET_RATES); one address gets address_factor
    # times as many (several people behind one address), and so many connections at once.
    rate_message: Rate = SOCKET_RATES["message"]
    rate_start: Rate = SOCKET_RATES["start"]
    rate_resume: Rate = SOCKET_RATES["resume"]
    rate_typing: Rate = SOCKET_RATES["typing"]
    rate_read: Rate = SOCKET_RATES["read"]
    rate_leave_message: Rate = SOCKET_RATES["leave_message"]
    rate_resume_link: Rate = SOCKET_RATES["resume_link"]
    rate_resident: Rate = SOCKET_RATES["resident"]
    rate_agent: Rate = SOCKET_RATES["agent"]
    rate_help_page: Rate = HTTP_RATES["help_page"]
    rate_help_form: Rate = HTTP_RATES["help_form"]
    rate_address_factor: int = 5
    connections_per_address: int = 200

    def socket_rates(self) -> dict[str, Rate]:
        """Each kind of socket event's Rate per connection."""
        return {kind: getattr(self, f"rate_{kind}") for kind in SOCKET_RATES}

    # Photo uploads: at most this many bodies being received at once, overall and per address
    # (each up to 10 MB in memory); the time a body may take to arrive.
    uploads_at_once: int = 8
    uploads_at_once_per_address: int = 2
    upload_seconds: int = 120
    photos_per_address_per_hour: int = 30
    photos_per_conversation: int = 20
    photo_max_pixels: int = 40_000_000
    photo_decode_workers: int = 1
    # A photo no request took (the resident never confirmed) is deleted after this long.
    unfiled_photo_ttl: timedelta = timedelta(hours=24)

    @property
    def is_sqlite(self) -> bool:
        """Tell whether the database is the embedded SQLite default."""
        return self.database_url.startswith("sqlite")

    @property
    def base_url(self) -> str:
        """Where residents reach this service, for links in mail."""
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def resume_page_url(self) -> str:
        """The page a mail's link back to a chat opens (the widget reads the fragment)."""
        return self.site_url or f"{self.base_url}/"

    @property
    def migrate_on_start(self) -> bool:
        """Tell whether the app upgrades the schema itself when it starts."""
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from environment variables (see the README's table)."""
        env = os.environ if environ is None else environ
        origins = tuple(
            o.strip().rstrip("/") for o in env.get("CHATSVC_ALLOWED_ORIGINS", "").split(",")
        )
        auto = env.get("CHATSVC_AUTO_MIGRATE")
        return cls(
            database_url=env.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            redis_url=_redis_url(env),
            redis_channel=env.get("CHATSVC_REDIS_CHANNEL", "").strip() or "chatsvc",
            host=env.get("CHATSVC_HOST", "127.0.0.1"),
            port=_int(env, "CHATSVC_PORT", 8080, minimum=0),
            allowed_origins=tuple(o for o in origins if o),
            token_ttl=timedelta(hours=_int(env, "CHATSVC_TOKEN_TTL_HOURS", 168, minimum=1)),
            max_payload_bytes=_int(env, "CHATSVC_MAX_PAYLOAD_BYTES", 65_536, minimum=16_384),
            log_level=env.get("CHATSVC_LOG_LEVEL", "INFO").upper(),
            auto_migrate=None if auto is None else _bool("CHATSVC_AUTO_MIGRATE", auto),
            trust_proxy_headers=_bool(
                "CHATSVC_TRUST_PROXY_HEADERS", env.get("CHATSVC_TRUST_PROXY_HEADERS", "0")
            ),
            knowledge_base=Path(env.get("CHATSVC_KNOWLEDGE_BASE") or DEFAULT_KNOWLEDGE_BASE),
            knowledge_base_poll_seconds=_int(env, "CHATSVC_KB_POLL_SECONDS", 2, minimum=1),
            agent_grace=timedelta(seconds=_int(env, "CHATSVC_AGENT_GRACE_SECONDS", 60, minimum=0)),
            idle_close=timedelta(minutes=_int(env, "CHATSVC_IDLE_CLOSE_MINUTES", 30, minimum=1)),
            queue_abandon=timedelta(
                minutes=_int(env, "CHATSVC_QUEUE_ABANDON_MINUTES", 5, minimum=1)
            ),
            sweep_seconds=_int(env, "CHATSVC_SWEEP_SECONDS", 5, minimum=1),
            process_dead_seconds=_int(env, "CHATSVC_PROCESS_DEAD_SECONDS", 30, minimum=1),
            business_hours=env.get("CHATSVC_BUSINESS_HOURS", "mon-fri 08:00-17:00"),
            timezone=env.get("CHATSVC_TIMEZONE", "America/Los_Angeles"),
            closures_file=Path(env["CHATSVC_CLOSURES_FILE"])
            if env.get("CHATSVC_CLOSURES_FILE")
            else None,
            holidays=env.get("CHATSVC_HOLIDAYS", "US-CA").strip(),
            message_when_wait_over=timedelta(
                minutes=_int(env, "CHATSVC_MESSAGE_WHEN_WAIT_OVER_MINUTES", 10, minimum=0)
            ),
            messages_per_ip_per_hour=_int(env, "CHATSVC_MESSAGES_PER_IP_PER_HOUR", 5, minimum=1),
            service_level_seconds=_int(env, "CHATSVC_SERVICE_LEVEL_SECONDS", 30, minimum=1),
            service_level_target_percent=_percent(env, "CHATSVC_SERVICE_LEVEL_TARGET_PERCENT", 80),
            report_paper=_choice(env, "CHATSVC_REPORT_PAPER", "letter", ("letter", "a4")),
            messages_per_email_per_day=_int(
                env, "CHATSVC_MESSAGES_PER_EMAIL_PER_DAY", 5, minimum=1
            ),
            sign_in_workers=_int(env, "CHATSVC_SIGN_IN_WORKERS", 1, minimum=1),
            sign_in_max_pending=_int(env, "CHATSVC_SIGN_IN_MAX_PENDING", 8, minimum=1),
            sign_in_attempts_per_address_per_minute=_int(
                env, "CHATSVC_SIGN_IN_ATTEMPTS_PER_ADDRESS_PER_MINUTE", 10, minimum=1
            ),
            sign_in_attempts_per_minute=_int(
                env, "CHATSVC_SIGN_IN_ATTEMPTS_PER_MINUTE", 30, minimum=1
            ),
            secret_key=env.get("CHATSVC_SECRET_KEY", ""),
            smtp_host=env.get("CHATSVC_SMTP_HOST", ""),
            smtp_port=_int(env, "CHATSVC_SMTP_PORT", 587, minimum=1),
            smtp_username=env.get("CHATSVC_SMTP_USERNAME", ""),
            smtp_password=env.get("CHATSVC_SMTP_PASSWORD", ""),
            smtp_security=_choice(
                env, "CHATSVC_SMTP_SECURITY", "starttls", ("starttls", "tls", "none")
            ),
            mail_from=env.get("CHATSVC_MAIL_FROM", "").strip(),
            mail_reply_to=env.get("CHATSVC_MAIL_REPLY_TO", ""),
            mail_folder=Path(env.get("CHATSVC_MAIL_FOLDER") or "var/mail"),
            mail_per_address_per_day=_int(env, "CHATSVC_MAIL_PER_ADDRESS_PER_DAY", 5, minimum=1),
            mail_reply_domain=env.get("CHATSVC_MAIL_REPLY_DOMAIN", "").strip().lower(),
            mail_reply_secret=env.get("CHATSVC_MAIL_REPLY_SECRET", ""),
            mail_in_host=env.get("CHATSVC_MAIL_IN_HOST", "").strip() or "127.0.0.1",
            mail_in_port=_int(env, "CHATSVC_MAIL_IN_PORT", 0, minimum=0)
            if env.get("CHATSVC_MAIL_IN_PORT")
            else None,
            mail_in_max_bytes=_int(env, "CHATSVC_MAIL_IN_MAX_BYTES", 15_000_000, minimum=65_536),
            mail_in_per_sender_per_hour=_int(
                env, "CHATSVC_MAIL_IN_PER_SENDER_PER_HOUR", 10, minimum=1
            ),
            mail_in_per_hour=_int(env, "CHATSVC_MAIL_IN_PER_HOUR", 300, minimum=1),
            public_url=env.get("CHATSVC_PUBLIC_URL", "").strip().rstrip("/"),
            site_url=_site_url(env),
            unread_mail_after=timedelta(
                minutes=_int(env, "CHATSVC_UNREAD_MAIL_MINUTES", 5, minimum=1)
            ),
            resume_link_ttl=timedelta(days=_int(env, "CHATSVC_RESUME_LINK_DAYS", 7, minimum=1)),
            http_idle_timeout_seconds=_int(env, "CHATSVC_HTTP_IDLE_TIMEOUT_SECONDS", 30, minimum=1),
            http_body_seconds=_int(env, "CHATSVC_HTTP_BODY_SECONDS", 30, minimum=1),
            open311_filings_per_minute=_int(
                env, "CHATSVC_OPEN311_FILINGS_PER_MINUTE", 30, minimum=1
            ),
            status_misses_per_number_per_day=_int(
                env, "CHATSVC_STATUS_MISSES_PER_NUMBER_PER_DAY", 10, minimum=1
            ),
            conversations_per_address_per_day=_int(
                env, "CHATSVC_CONVERSATIONS_PER_ADDRESS_PER_DAY", 50, minimum=1
            ),
            filings_per_address_per_day=_int(
                env, "CHATSVC_FILINGS_PER_ADDRESS_PER_DAY", 20, minimum=1
            ),
            status_misses_per_address_per_day=_int(
                env, "CHATSVC_STATUS_MISSES_PER_ADDRESS_PER_DAY", 20, minimum=1
            ),
            webhooks_file=Path(env["CHATSVC_WEBHOOKS_FILE"])
            if env.get("CHATSVC_WEBHOOKS_FILE")
            else None,
            rate_address_factor=_int(env, "CHATSVC_RATE_ADDRESS_FACTOR", 5, minimum=1),
            connections_per_address=_int(env, "CHATSVC_CONNECTIONS_PER_ADDRESS", 200, minimum=1),
            rate_message=_rate(env, "message"),
            rate_start=_rate(env, "start"),
            rate_resume=_rate(env, "resume"),
            rate_typing=_rate(env, "typing"),
            rate_read=_rate(env, "read"),
            rate_leave_message=_rate(env, "leave_message"),
            rate_resume_link=_rate(env, "resume_link"),
            rate_resident=_rate(env, "resident"),
            rate_agent=_rate(env, "agent"),
            rate_help_page=_rate(env, "help_page"),
            rate_help_form=_rate(env, "help_form"),
            uploads_at_once=_int(env, "CHATSVC_UPLOADS_AT_ONCE", 8, minimum=1),
            uploads_at_once_per_address=_int(
                env, "CHATSVC_UPLOADS_AT_ONCE_PER_ADDRESS", 2, minimum=1
            ),
            upload_seconds=_int(env, "CHATSVC_UPLOAD_SECONDS", 120, minimum=1),
            photos_per_address_per_hour=_int(
                env, "CHATSVC_PHOTOS_PER_ADDRESS_PER_HOUR", 30, minimum=1
            ),
            photos_per_conversation=_int(env, "CHATSVC_PHOTOS_PER_CONVERSATION", 20, minimum=1),
            photo_max_pixels=_int(env, "CHATSVC_PHOTO_MAX_PIXELS", 40_000_000, minimum=1),
            photo_decode_workers=_int(env, "CHATSVC_PHOTO_DECODE_WORKERS", 1, minimum=1),
            unfiled_photo_ttl=timedelta(
                hours=_int(env, "CHATSVC_UNFILED_PHOTO_HOURS", 24, minimum=1)
            ),
        )


def _percent(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default, minimum=1)
    if value > 100:
        raise SettingsError(f"{name} is a percentage: at most 100, not {value}")
    return value


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, not {value}")
    return value


def _rate(env: Mapping[str, str], kind: str) -> Rate:
    """CHATSVC_RATE_<KIND> as "burst,per_minute" ("20,60": 20 at once, then 60 a minute)."""
    name = f"CHATSVC_RATE_{kind.upper()}"
    raw = (env.get(name) or "").strip()
    if not raw:
        return SOCKET_RATES.get(kind) or HTTP_RATES[kind]
    try:
        burst, per_minute = (part.strip() for part in raw.split(","))
        rate = Rate(int(burst), float(per_minute))
    except ValueError:
        raise SettingsError(
            f"{name} must be 'burst,per_minute' like '20,60', not {raw!r}"
        ) from None
    if rate.burst < 1 or rate.per_minute <= 0:
        raise SettingsError(f"{name}: the burst must be at least 1 and the rate above 0")
    return rate


def _site_url(env: Mapping[str, str]) -> str:
    raw = (env.get("CHATSVC_SITE_URL") or "").strip()
    if not raw:
        return ""
    if not raw.startswith(("https://", "http://")) or "#" in raw or any(c.isspace() for c in raw):
        raise SettingsError(
            "CHATSVC_SITE_URL must be the http(s) address of the page with the widget, "
            f"without a #fragment, like https://www.example.gov/, not {raw!r}"
        )
    return raw


def _redis_url(env: Mapping[str, str]) -> str | None:
    raw = (env.get("REDIS_URL") or "").strip()
    if not raw:
        return None
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(
            "REDIS_URL must be a redis://, rediss:// or unix:// address, "
            f"like redis://127.0.0.1:6379/0, not {raw.split('@')[-1]!r}"
        )
    return raw


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (env.get(name) or default).strip().lower()
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")
