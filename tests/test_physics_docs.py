"""The physics docs inside the repository (``docs/physics/*.md``) do not drift from the code.

Each process has one page that documents its equations, every parameter with unit and source,
the calibration residuals, the validity envelope and the known limitations. A parameter added to
a plant's dataclass without a line in its page, a page that disappears or is no longer linked
from the README, or an in-page link to a section that was renamed fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from envs.core.params import PlantParams
from envs.paint.params import PaintLineParams
from envs.steel.params import BOFParams

ROOT = Path(__file__).resolve().parents[1]
DOCS = {
    "docs/physics/bof.md": BOFParams,
    "docs/physics/paint.md": PaintLineParams,
}


def _text(rel: str) -> str:
    path = ROOT / rel
    assert path.is_file(), f"{rel} is missing"
    return path.read_text(encoding="utf-8")


def missing_fields(text: str, params: type[PlantParams]) -> list[str]:
    """Fields of ``params`` that ``text`` never names as inline code (`` `name` ``)."""
    named = set(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", text))
    return [name for name in params.field_names() if name not in named]


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces → -."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize(("rel", "params"), DOCS.items(), ids=list(DOCS))
def test_every_parameter_is_documented(rel, params):
    missing = missing_fields(_text(rel), params)
    assert not missing, f"{rel} does not document {params.__name__} fields {missing}"


def test_the_check_catches_a_missing_field():
    """The check itself can fail: drop one field's mentions and it is reported."""
    text = _text("docs/physics/bof.md").replace("`kc_per_min`", "`k_C`")
    assert missing_fields(text, BOFParams) == ["kc_per_min"]


@pytest.mark.parametrize("rel", DOCS)
def test_readme_links_the_physics_docs(rel):
    assert f"]({rel})" in _text("README.md"), f"README.md does not link {rel}"


@pytest.mark.parametrize("rel", ["README.md", *DOCS])
def test_no_links_to_files_outside_the_repository(rel):
    """The docs are self-contained: nothing points at the project's private shared notes."""
    assert "shared/PHYSICS.md" not in _text(rel)
    assert "shared/physics/" not in _text(rel)


@pytest.mark.parametrize("rel", DOCS)
def test_in_page_links_resolve(rel):
    text = _text(rel)
    anchors = {github_slug(h) for h in re.findall(r"^#+ (.*)$", text, flags=re.M)}
    broken = sorted(set(re.findall(r"\]\(#([^)]+)\)", text)) - anchors)
    assert not broken, f"{rel} links to missing sections {broken}"


@pytest.mark.parametrize("rel", DOCS)
def test_known_limitations_and_sources_sections(rel):
    text = _text(rel)
    for heading in ("Known limitations", "Sources", "Calibration choices and residuals"):
        assert re.search(rf"^## \d+\. {heading}", text, flags=re.M), f"{rel}: no '{heading}'"
