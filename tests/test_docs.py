"""The feed documentation keeps up with the declared contracts."""

from __future__ import annotations

from pathlib import Path

import pytest

from layers.registry import REGISTRY

DOC = (Path(__file__).resolve().parents[1] / "docs" / "feeds.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_field_and_alias_is_documented(name: str) -> None:
    spec = REGISTRY[name].SPEC
    section = DOC.split(f"## `{name}`")[1].split("\n## ")[0]
    for f in spec.fields:
        assert f"| `{f.name}` |" in section, f"{name}.{f.name} is not in docs/feeds.md"
        for alias in f.aliases:
            assert f"`{alias}`" in section, f"{name}.{f.name}: alias {alias} undocumented"
        for choice in f.choices:
            assert choice in section
    assert "Example:" in section
