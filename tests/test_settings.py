"""The one parser of on/off settings, for environment variables and configuration values alike."""
from __future__ import annotations

import pytest

from moderation.settings import env_flag, flag


@pytest.mark.parametrize("value, expected", [
    ("0", False), ("false", False), ("No", False), (" OFF ", False), (False, False), (0, False),
    ("1", True), ("true", True), ("yes", True), ("on", True), (True, True), (1, True),
    (None, "default"), ("", "default"), ("  ", "default"),
])
@pytest.mark.parametrize("default", [True, False])
def test_flag(value, expected, default):
    assert flag(value, default) is (default if expected == "default" else expected)


def test_env_flag_reads_the_environment(monkeypatch):
    monkeypatch.setenv("MODERATION_TEST_FLAG", "off")
    assert env_flag("MODERATION_TEST_FLAG") is False
    monkeypatch.delenv("MODERATION_TEST_FLAG")
    assert env_flag("MODERATION_TEST_FLAG", default=False) is False


def test_the_app_reads_its_switches_with_it(app_factory):
    app = app_factory(LANGUAGE_DETECTION="off", AUTO_MIGRATE="yes")
    assert "moderation.language" not in app.extensions
