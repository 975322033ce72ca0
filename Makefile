# The README's commands. VENV can be overridden: make test VENV=~/.cache/book-venv
VENV ?= .venv
BIN := $(VENV)/bin
MODE ?= smoke
NB ?= notebooks

.PHONY: setup lab test lint book bench clean-data help

help:
	@echo "make lab    - set up the environment and open JupyterLab on notebooks/"
	@echo "make test   - set up the environment, lint, run unit tests and every notebook (smoke mode, offline)"
	@echo "make book   - execute every notebook in lite mode into build/ with outputs, for reading"
	@echo "make bench  - time notebooks: make bench MODE=lite NB=notebooks/01_sklearn (results in benchmarks/)"

setup:
	@sh tools/setup_env.sh $(VENV)

lab: setup
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

lint: setup
	$(BIN)/ruff check book_utils tests tools notebooks

test: setup lint
	BOOK_OFFLINE=1 BOOK_MODE=smoke $(BIN)/python -m pytest

book: setup
	$(BIN)/python tools/execute.py --mode lite --out build $(NB)

bench: setup
	$(BIN)/python tools/execute.py --mode $(MODE) --repeat $(if $(filter smoke,$(MODE)),3,1) \
		--results benchmarks/results.json $(NB)
	$(BIN)/python tools/chapter_map.py

clean-data:
	rm -rf data/*-standin data/*.lock
