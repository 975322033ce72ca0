# The README's commands. Variables: VENV (default .venv), MODE (bench: smoke), NB (notebooks or a folder/file).
VENV ?= .venv
BIN := $(VENV)/bin
MODE ?= smoke
NB ?= notebooks
# Generated data lives in <data dir>/standins; the data dir is $BOOK_DATA_DIR, else this checkout's data/.
DATA_DIR := $(if $(BOOK_DATA_DIR),$(BOOK_DATA_DIR),data)

.PHONY: setup lab test lint book site bench lessons clean-data help

help:
	@echo "make lab         set up the environment and open JupyterLab"
	@echo "make test        set up, lint, run unit tests and every notebook (smoke mode, offline)"
	@echo "make lessons     run notebooks in lite mode; fails on any failed lesson check (NB=notebooks/04_cnn)"
	@echo "make book        execute notebooks in lite mode into build/ with outputs, for reading (NB=...)"
	@echo "make site        build/site/: a website of the executed notebooks (lite; MODE=smoke is quick; NB=...)"
	@echo "make bench       time notebooks: make bench MODE=lite NB=notebooks/01_sklearn (results in benchmarks/)"
	@echo "make clean-data  delete the generated stand-in data ($(DATA_DIR)/standins); it is rebuilt when needed"
	@echo "Variables: NB=<notebook or folder> (default notebooks), MODE=smoke|lite|full, VENV=<path> (default .venv)"

setup:
	@sh tools/setup_env.sh $(VENV)

lab: setup
	$(BIN)/jupyter lab notebooks/00_setup/00-1_check_your_setup.ipynb $(if $(filter 0,$(shell id -u)),--allow-root)

lint: setup
	$(BIN)/ruff check book_utils tests tools notebooks

test: setup lint
	BOOK_OFFLINE=1 BOOK_MODE=smoke $(BIN)/python -m pytest

book: setup
	$(BIN)/python tools/execute.py --mode lite --out build $(NB)

# MODE defaults to lite here (a MODE given on the command line or in the environment wins).
site: setup
	$(BIN)/python tools/build_site.py --mode $(if $(filter file,$(origin MODE)),lite,$(MODE)) $(NB)

lessons: setup
	BOOK_OFFLINE=1 $(BIN)/python tools/execute.py --mode lite --results benchmarks/results.json $(NB)
	$(BIN)/python tools/chapter_map.py

bench: setup
	$(BIN)/python tools/execute.py --mode $(MODE) --repeat $(if $(filter smoke,$(MODE)),3,1) \
		--results benchmarks/results.json $(NB)
	$(BIN)/python tools/chapter_map.py

clean-data:
	rm -rf "$(DATA_DIR)/standins"
