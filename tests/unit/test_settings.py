"""Settings come from the environment once, with clear errors for values we cannot use."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from chatsvc.settings import (
    DEFAULT_DATABASE_URL,
    HTTP_RATES,
    SOCKET_RATES,
    Rate,
    Settings,
    SettingsError,
)


def test_defaults_are_the_embedded_service() -> None:
    settings = Settings.from_env({})
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.is_sqlite and settings.migrate_on_start
    assert settings.token_ttl == timedelta(days=7)
    assert settings.webhooks_file is None  # no department gets webhooks unless configured
    assert settings.redis_url is None  # one process: events stay in memory
    assert settings.service_level_seconds == 30
    assert settings.service_level_target_percent == 80


def test_values_are_read_and_normalised() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1/test",
            "CHATSVC_PORT": "9000",
            "CHATSVC_ALLOWED_ORIGINS": " https://www.cityofpasadena.net/ , https://x.org ,",
            "CHATSVC_TOKEN_TTL_HOURS": "2",
            "CHATSVC_LOG_LEVEL": "debug",
            "CHATSVC_WEBHOOKS_FILE": "/etc/chatsvc/webhooks.toml",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "CHATSVC_HTTP_BODY_SECONDS": "5",
            "CHATSVC_SERVICE_LEVEL_SECONDS": "20",
            "CHATSVC_SERVICE_LEVEL_TARGET_PERCENT": "75",
            "CHATSVC_REPORT_PAPER": " A4 ",
        }
    )
    assert settings.port == 9000
    assert settings.http_body_seconds == 5
    assert settings.service_level_seconds == 20
    assert settings.service_level_target_percent == 75
    assert settings.report_paper == "a4"
    assert settings.allowed_origins == ("https://www.cityofpasadena.net", "https://x.org")
    assert settings.token_ttl == timedelta(hours=2)
    assert settings.log_level == "DEBUG"
    assert settings.webhooks_file == Path("/etc/chatsvc/webhooks.toml")
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert not settings.migrate_on_start  # PostgreSQL: `chatsvc db upgrade` does it


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("CHATSVC_PORT", "eighty", "whole number"),
        ("CHATSVC_PORT", "-1", "at least 0"),
        ("CHATSVC_TOKEN_TTL_HOURS", "0", "at least 1"),
        ("CHATSVC_MAX_PAYLOAD_BYTES", "100", "at least"),
        ("CHATSVC_AUTO_MIGRATE", "maybe", "true or false"),
        ("REDIS_URL", "127.0.0.1:6379", "redis://"),
        ("CHATSVC_RATE_MESSAGE", "20", "burst,per_minute"),
        ("CHATSVC_RATE_START", "0,5", "at least 1"),
        ("CHATSVC_CONNECTIONS_PER_ADDRESS", "0", "at least 1"),
        ("CHATSVC_HTTP_BODY_SECONDS", "0", "at least 1"),
        ("CHATSVC_SERVICE_LEVEL_SECONDS", "0", "at least 1"),
        ("CHATSVC_SERVICE_LEVEL_TARGET_PERCENT", "0", "at least 1"),
        ("CHATSVC_SERVICE_LEVEL_TARGET_PERCENT", "101", "at most 100"),
        ("CHATSVC_REPORT_PAPER", "legal", "letter, a4"),
        ("CHATSVC_UNREAD_MAIL_MINUTES", "0", "at least 1"),
        ("CHATSVC_RESUME_LINK_DAYS", "0", "at least 1"),
        ("CHATSVC_RATE_RESUME_LINK", "5", "burst,per_minute"),
        ("CHATSVC_RATE_HELP_PAGE", "ten,5", "burst,per_minute"),
        ("CHATSVC_RATE_HELP_FORM", "1,0", "above 0"),
        ("CHATSVC_SITE_URL", "www.example.gov", "http"),
        ("CHATSVC_SITE_URL", "https://www.example.gov/#top", "fragment"),
        ("CHATSVC_MAIL_IN_PORT", "smtp", "whole number"),
        ("CHATSVC_MAIL_IN_MAX_BYTES", "1000", "at least 65536"),
        ("CHATSVC_MAIL_IN_PER_SENDER_PER_HOUR", "0", "at least 1"),
    ],
)
def test_bad_values_are_named(name: str, value: str, words: str) -> None:
    with pytest.raises(SettingsError, match=words) as error:
        Settings.from_env({name: value})
    assert name in str(error.value)


def test_socket_rates_are_read() -> None:
    settings = Settings.from_env(
        {"CHATSVC_RATE_MESSAGE": "40, 120", "CHATSVC_RATE_ADDRESS_FACTOR": "3"}
    )
    assert settings.rate_message == Rate(40, 120.0)
    assert settings.socket_rates()["message"] == Rate(40, 120.0)
    assert settings.rate_start == SOCKET_RATES["start"]
    assert settings.rate_address_factor == 3


def test_help_center_rates_are_read() -> None:
    settings = Settings.from_env({"CHATSVC_RATE_HELP_PAGE": "30,60"})
    assert settings.rate_help_page == Rate(30, 60.0)
    assert settings.rate_help_form == HTTP_RATES["help_form"]
    assert "help_page" not in settings.socket_rates()


def test_daily_caps_per_address_are_read() -> None:
    defaults = Settings.from_env({})
    assert (
        defaults.conversations_per_address_per_day,
        defaults.filings_per_address_per_day,
        defaults.status_misses_per_address_per_day,
    ) == (50, 20, 20)
    settings = Settings.from_env(
        {
            "CHATSVC_CONVERSATIONS_PER_ADDRESS_PER_DAY": "7",
            "CHATSVC_FILINGS_PER_ADDRESS_PER_DAY": "3",
            "CHATSVC_STATUS_MISSES_PER_ADDRESS_PER_DAY": "4",
        }
    )
    assert settings.conversations_per_address_per_day == 7
    assert settings.filings_per_address_per_day == 3
    assert settings.status_misses_per_address_per_day == 4
    with pytest.raises(SettingsError, match="CHATSVC_FILINGS_PER_ADDRESS_PER_DAY"):
        Settings.from_env({"CHATSVC_FILINGS_PER_ADDRESS_PER_DAY": "0"})


def test_the_unread_replies_mail_settings_are_read() -> None:
    defaults = Settings.from_env({"CHATSVC_PORT": "9000"})
    assert defaults.unread_mail_after == timedelta(minutes=5)
    assert defaults.resume_link_ttl == timedelta(days=7)
    assert defaults.resume_page_url == "http://127.0.0.1:9000/"  # the demo page
    settings = Settings.from_env(
        {
            "CHATSVC_SITE_URL": " https://www.example.gov/services ",
            "CHATSVC_UNREAD_MAIL_MINUTES": "10",
            "CHATSVC_RESUME_LINK_DAYS": "2",
            "CHATSVC_RATE_RESUME_LINK": "3,6",
        }
    )
    assert settings.resume_page_url == "https://www.example.gov/services"
    assert settings.unread_mail_after == timedelta(minutes=10)
    assert settings.resume_link_ttl == timedelta(days=2)
    assert settings.socket_rates()["resume_link"] == Rate(3, 6.0)


def test_replies_by_email_are_off_until_a_domain_is_set() -> None:
    off = Settings.from_env({})
    assert (off.mail_reply_domain, off.mail_reply_secret, off.mail_in_port) == ("", "", None)
    on = Settings.from_env(
        {
            "CHATSVC_MAIL_REPLY_DOMAIN": " Replies.City.Example ",
            "CHATSVC_MAIL_REPLY_SECRET": "s3cret",
            "CHATSVC_MAIL_IN_HOST": "0.0.0.0",
            "CHATSVC_MAIL_IN_PORT": "2525",
            "CHATSVC_MAIL_IN_MAX_BYTES": "5000000",
            "CHATSVC_MAIL_IN_PER_SENDER_PER_HOUR": "4",
            "CHATSVC_MAIL_IN_PER_HOUR": "100",
        }
    )
    assert on.mail_reply_domain == "replies.city.example"
    assert (on.mail_in_host, on.mail_in_port, on.mail_in_max_bytes) == ("0.0.0.0", 2525, 5_000_000)
    assert (on.mail_in_per_sender_per_hour, on.mail_in_per_hour) == (4, 100)
    assert "s3cret" not in repr(on)  # secrets stay out of logs
