"""The documentation site builds with every Sphinx warning an error (the ``html`` fixture of conftest.py), and renders
ACE's parameters from its docstring."""

import inspect

import pytest

import sb3_ace
from sb3_ace import ACE, ACETQC, ACECrossQ

PAGES = (
    "index",
    "installation",
    "quickstart",
    "modules/ace",
    "modules/ace_tqc",
    "modules/ace_crossq",
    "api",
    "rl_zoo",
    "domains",
    "causal_discovery",
    "benchmarks",
)


def test_every_page_is_built(html):
    for page in PAGES:
        assert (html / f"{page}.html").is_file(), f"docs/{page}.md was not built"


@pytest.mark.parametrize("algorithm, page_name", [(ACE, "ace"), (ACETQC, "ace_tqc"), (ACECrossQ, "ace_crossq")])
def test_algorithm_page_documents_every_parameter(html, algorithm, page_name):
    page = (html / "modules" / f"{page_name}.html").read_text()
    parameters = [name for name in inspect.signature(algorithm).parameters if not name.startswith("_")]
    assert "causal_sample_size" in parameters
    # A documented parameter is rendered as a field `name (type) - description`; an undocumented one is missing
    missing = [name for name in parameters if f"<strong>{name}</strong>" not in page]
    assert not missing, f"parameters of {algorithm.__name__} without a :param: line in its docstring: {missing}"


def test_every_exported_name_is_documented(html):
    pages = "".join(page.read_text() for page in html.rglob("*.html"))
    # The policies are documented where they live (sb3_ace.ace.policies); sb3_ace re-exports ACE's
    where = {name: f"sb3_ace.ace.policies.{name}" for name in ("CnnPolicy", "MultiInputPolicy")} | {
        "MlpPolicy": "sb3_ace.ace.policies.ACEPolicy"
    }
    missing = [name for name in sb3_ace.__all__ if f'id="{where.get(name, f"sb3_ace.{name}")}"' not in pages]
    assert not missing, f"exported names the documentation does not document: {missing}"


def test_api_page_documents_the_public_names(html):
    page = (html / "api.html").read_text()
    for name in ("CausalWeightCallback", "DormantResetCallback", "estimate_causal_weights", "CausalDiscoveryError"):
        assert f'id="sb3_ace.{name}"' in page, name
    for name in ("ACEPolicy", "CnnPolicy", "MultiInputPolicy", "CausalActor"):
        assert f'id="sb3_ace.ace.policies.{name}"' in page, name
