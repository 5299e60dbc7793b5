"""Sphinx configuration of the sb3-ace documentation (MyST Markdown pages, API from the package's docstrings).

Build: ``make doc`` (``sphinx-build -W --keep-going -b html docs build/docs/html``): every warning is an error.
"""

import sb3_ace

project = "sb3-ace"
author = "sb3-ace contributors"
copyright = "2026, sb3-ace contributors"
version = release = sb3_ace.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "sphinx.ext.intersphinx",
]
source_suffix = {".md": "markdown"}
# The campaigns' summaries are parts of other pages (included by the algorithm pages and the index), not pages
exclude_patterns = ["_build", "campaigns/*_summary.md"]

# MyST: GitHub-style anchors for the headings that pages link to as `page.md#heading`, ::: fences for notes, $math$
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "dollarmath"]
# Formulas ($...$) are rendered by MathJax 3 (Apache 2.0), kept in _static: the pages render them offline
mathjax_path = "mathjax/tex-svg.js"

# The docstrings are reST with `:param x:` fields; the type hints go into those fields, not into the signature
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented"  # an undocumented parameter stays visible as missing
autosummary_generate = False  # no stub pages (the Available Policies tables are written out: an alias has no docstring)
autodoc_member_order = "bysource"

# The Read the Docs theme, as in the documentation of Stable-Baselines3 and sb3-contrib (`sphinx-rtd-theme`, in the
# `docs` and `tests` extras)
html_theme = "sphinx_rtd_theme"
html_title = f"sb3-ace {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]  # table cells wrap

# Every reference resolves (`make doc` and the tests build with -n): other projects' names through intersphinx, from
# inventories kept in _inventories/ (the build runs offline; `python docs/_inventories/make_inventories.py` writes them)
nitpicky = True
intersphinx_mapping = {
    project: (url, f"_inventories/{project}.inv")
    for project, url in {
        "python": "https://docs.python.org/3/",
        "numpy": "https://numpy.org/doc/stable/",
        "torch": "https://docs.pytorch.org/docs/stable/",
        "gymnasium": "https://gymnasium.farama.org/",
        "sb3": "https://stable-baselines3.readthedocs.io/en/master/",
        "sb3_contrib": "https://sb3-contrib.readthedocs.io/en/master/",
    }.items()
}
