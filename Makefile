# The two commands of the README:
#   make run    install if needed, build the stores and model if needed, start the app
#   make test   install if needed (incl. the small local LLM), run every test
PYTEST_ARGS ?=

.PHONY: run test install lint bench
run:
	scripts/install.sh --llm
	.venv/bin/python app_main.py $(ARGS)

test:
	scripts/install.sh --llm-small
	.venv/bin/python -m pytest $(PYTEST_ARGS)

install:
	scripts/install.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

bench:
	.venv/bin/python bench/bench_bpr.py && .venv/bin/python bench/bench_topk.py && \
	.venv/bin/python bench/bench_vectors.py && .venv/bin/python bench/bench_tools.py
