"""Settings from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from layers.core.settings import SAMPLE_FEEDS, Settings


def test_defaults_point_at_the_bundled_sample() -> None:
    settings = Settings.from_env({})
    assert settings.feeds == SAMPLE_FEEDS and settings.timezone == "UTC"
    assert settings.tiles == "offline"
    # The folder the README's first command shows: the repository's data/sample.
    root = Path(__file__).resolve().parents[1]
    assert settings.feeds == root / "data" / "sample"
    assert (settings.feeds / "polling_stations.csv").is_file()


def test_environment_overrides(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "POLLWATCH_FEEDS": str(tmp_path),
            "POLLWATCH_TZ": "Africa/Monrovia",
            "POLLWATCH_TILES": "none",
        }
    )
    assert (settings.feeds, settings.timezone, settings.tiles) == (
        tmp_path,
        "Africa/Monrovia",
        "none",
    )


def test_bad_zone_names_the_variable() -> None:
    with pytest.raises(ValueError, match="POLLWATCH_TZ='Mars/Olympus'"):
        Settings.from_env({"POLLWATCH_TZ": "Mars/Olympus"})
