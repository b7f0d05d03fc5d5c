"""plait.Settings: typed settings from PLAIT_* variables and .env, checked when loaded."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from plait import Settings, SettingsError
from plait._settings import default_database_url, read_env_file

KEY = "kZ3-r8Qw_u2Lx9Vb7Nc4Ty6Hp1Mf5Jd0GsE"


def load(environ: dict[str, str], **kwargs: object) -> Settings:
    return Settings.load(environ=environ, env_file=None, **kwargs)  # type: ignore[arg-type]


def test_defaults_in_debug(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "plait.settings"):
        settings = load({"PLAIT_DEBUG": "1"})
    assert settings.DEBUG is True
    assert settings.DATABASE_URL.startswith("sqlite+aiosqlite:///./")
    assert settings.DATABASE_URL.endswith(".sqlite3")
    assert settings.ALLOWED_HOSTS == ["localhost", "127.0.0.1", "[::1]", "testserver"]
    assert settings.REDIS_URL is None
    # A generated key in debug mode, and a warning saying so.
    assert settings.SECRET_KEY is not None
    assert len(settings.SECRET_KEY) >= 32
    assert "SECRET_KEY is not set" in caplog.text


def test_generated_keys_differ_between_loads() -> None:
    assert load({"PLAIT_DEBUG": "true"}).SECRET_KEY != load({"PLAIT_DEBUG": "true"}).SECRET_KEY


def test_missing_secret_key_in_production_is_an_error_with_a_hint() -> None:
    with pytest.raises(SettingsError) as info:
        load({})
    message = str(info.value)
    assert "PLAIT_SECRET_KEY is not set and DEBUG is off" in message
    assert "secrets.token_urlsafe" in message
    assert "PLAIT_DEBUG=1" in message


def test_short_secret_key_in_production_is_an_error() -> None:
    with pytest.raises(SettingsError, match="too short"):
        load({"PLAIT_SECRET_KEY": "short"})


def test_production_with_a_key() -> None:
    settings = load({"PLAIT_SECRET_KEY": KEY, "PLAIT_DEBUG": "false"})
    assert settings.SECRET_KEY == KEY
    assert settings.DEBUG is False


def test_check_false_skips_the_production_checks() -> None:
    assert Settings.load(environ={}, env_file=None, check=False).SECRET_KEY is None


def test_apps_that_sign_nothing_can_opt_out() -> None:
    class NoSecrets(Settings):
        secret_key_required = False

    assert NoSecrets.load(environ={}, env_file=None).SECRET_KEY is None


def test_types_are_converted_from_strings() -> None:
    settings = load(
        {
            "PLAIT_SECRET_KEY": KEY,
            "PLAIT_ALLOWED_HOSTS": "example.com, api.example.com",
            "PLAIT_REDIS_URL": "redis://localhost:6379/0",
            "PLAIT_DATABASE_URL": "postgresql+asyncpg://u@h/db",
        }
    )
    assert settings.ALLOWED_HOSTS == ["example.com", "api.example.com"]
    assert settings.REDIS_URL == "redis://localhost:6379/0"
    assert settings.DATABASE_URL == "postgresql+asyncpg://u@h/db"
    assert load({"PLAIT_SECRET_KEY": KEY, "PLAIT_ALLOWED_HOSTS": '["a", "b"]'}).ALLOWED_HOSTS == [
        "a",
        "b",
    ]
    # An empty value means "not set" for optional settings.
    assert load({"PLAIT_SECRET_KEY": KEY, "PLAIT_REDIS_URL": ""}).REDIS_URL is None


def test_every_problem_is_reported_at_once() -> None:
    class AppSettings(Settings):
        STRIPE_KEY: str
        PAGE_SIZE: int = 20

    with pytest.raises(SettingsError) as info:
        AppSettings.load(
            environ={"PLAIT_DEBUG": "maybe", "PLAIT_PAGE_SIZE": "twenty"}, env_file=None
        )
    problems = info.value.problems
    assert len(problems) == 3
    text = str(info.value)
    assert "PLAIT_DEBUG='maybe' (from the environment): Expected `bool`" in text
    assert "PLAIT_PAGE_SIZE='twenty'" in text
    assert "PLAIT_STRIPE_KEY is required" in text


def test_subclass_fields_and_overrides() -> None:
    class AppSettings(Settings):
        STRIPE_KEY: str
        PAGE_SIZE: int = 20
        FEATURES: dict[str, bool] = {}

    settings = AppSettings.load(
        environ={"PLAIT_STRIPE_KEY": "sk", "PLAIT_FEATURES": '{"beta": true}'},
        env_file=None,
        DEBUG=True,
        PAGE_SIZE=50,
    )
    assert settings.STRIPE_KEY == "sk"
    assert settings.PAGE_SIZE == 50
    assert settings.FEATURES == {"beta": True}
    with pytest.raises(TypeError, match="no settings named NOPE"):
        AppSettings.load(environ={}, env_file=None, NOPE=1)


def test_subclass_can_add_checks() -> None:
    class AppSettings(Settings):
        PAGE_SIZE: int = 20

        def check(self) -> list[str]:
            problems = super().check()
            if self.PAGE_SIZE > 100:
                problems.append("PAGE_SIZE must be at most 100")
            return problems

    with pytest.raises(SettingsError, match="PAGE_SIZE must be at most 100"):
        AppSettings.load(environ={"PLAIT_PAGE_SIZE": "500", "PLAIT_DEBUG": "1"}, env_file=None)


def test_custom_prefix() -> None:
    class AppSettings(Settings):
        env_prefix = "MYAPP_"
        secret_key_required = False

    assert AppSettings.load(environ={"MYAPP_DEBUG": "yes"}, env_file=None).DEBUG is True
    assert AppSettings.load(environ={"PLAIT_DEBUG": "1", "MYAPP_DEBUG": "Off"}).DEBUG is False


def test_env_file_and_precedence(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# comment\n"
        "\n"
        "export PLAIT_DEBUG=1\n"
        "PLAIT_DATABASE_URL = 'sqlite+aiosqlite:///./from-file.sqlite3'\n"
        'PLAIT_SECRET_KEY="from\\nfile"  \n'
        "PLAIT_REDIS_URL=redis://file # trailing comment\n"
    )
    settings = Settings.load(environ={"PLAIT_REDIS_URL": "redis://env"}, env_file=env_file)
    assert settings.DEBUG is True
    assert settings.DATABASE_URL == "sqlite+aiosqlite:///./from-file.sqlite3"
    assert settings.SECRET_KEY == "from\nfile"
    assert settings.REDIS_URL == "redis://env"  # the environment wins over .env
    assert read_env_file(env_file)["PLAIT_REDIS_URL"] == "redis://file"


def test_malformed_env_file_names_the_line(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PLAIT_DEBUG=1\nthis is not a setting\n")
    with pytest.raises(SettingsError, match="line 2"):
        Settings.load(environ={}, env_file=env_file)


def test_missing_env_file_is_fine(tmp_path: Path) -> None:
    assert read_env_file(tmp_path / "nope.env") == {}


def test_default_env_file_is_read_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"PLAIT_SECRET_KEY={KEY}\n")
    assert Settings.load(environ={}).SECRET_KEY == KEY


def test_repr_hides_secrets() -> None:
    settings = load(
        {
            "PLAIT_SECRET_KEY": KEY,
            "PLAIT_DATABASE_URL": "postgresql+asyncpg://user:hunter2@db/app",
        }
    )
    text = repr(settings)
    assert KEY not in text
    assert "hunter2" not in text
    assert "postgresql+asyncpg://user:***@db/app" in text


def test_default_database_url(tmp_path: Path) -> None:
    project = tmp_path / "my project!"
    project.mkdir()
    assert default_database_url(project) == f"sqlite+aiosqlite:///{project}/my_project.sqlite3"


PLACEHOLDER = "change-me-to-a-long-random-string-of-48-characters"  # the docs' old placeholder


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (PLACEHOLDER, "placeholder"),
        ("django-insecure-" + "k" * 40, "placeholder"),
        ("your-secret-key-goes-here-please-0123456789", "placeholder"),
        ("a" * 48, "different characters"),
        ("abcd" * 12, "different characters"),
    ],
)
def test_weak_secret_keys_in_production_are_refused(key: str, problem: str) -> None:
    """Issue 12 finding 9: the docs' placeholder key passed the settings check."""
    with pytest.raises(SettingsError, match=problem):
        load({"PLAIT_SECRET_KEY": key})


def test_check_secret_key_names_the_problem() -> None:
    Settings.check_secret_key(KEY)
    with pytest.raises(SettingsError, match="secret_key is too short"):
        Settings.check_secret_key("a", name="secret_key")
    with pytest.raises(SettingsError, match="placeholder"):
        Settings.check_secret_key(PLACEHOLDER)
