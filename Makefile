SHELL=/bin/bash
# Contributor targets, as in Stable-Baselines3 and sb3-contrib: `make commit-checks` before a commit, `make pytest doc` before a
# pull request. The docs are built into build/docs (ignored by git, like the packages that `make build` writes to dist/).
DOC_BUILD ?= build/docs

pytest:
	python -m pytest -n 2

type:
	mypy

lint:
	ruff check .

format:
	ruff format .
	ruff check --fix .

check-codestyle:
	ruff format --check .
	ruff check .

commit-checks: format type lint

# The documentation, with every Sphinx warning an error and every reference resolved (-n)
doc:
	sphinx-build -n -W --keep-going -b html docs $(DOC_BUILD)/html

clean:
	rm -rf $(DOC_BUILD) build dist

# Release: the sdist and the wheel in dist/, checked by twine; then upload to TestPyPI or PyPI
build:
	rm -rf dist
	python -m build
	twine check --strict dist/*

test-release: build
	twine upload --repository testpypi dist/*

release: build
	twine upload dist/*

.PHONY: pytest type lint format check-codestyle commit-checks doc clean build test-release release
