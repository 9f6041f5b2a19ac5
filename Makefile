# The two commands of the README:
#   make run    install if needed, build the stores and model if needed, start the app
#   make test   install if needed (incl. dev tools and the small local LLM), run every test
# Install parts are stamped separately (scripts/install.sh): switching between the two
# reinstalls nothing.
PYTEST_ARGS ?=

.PHONY: run test install lint bench
run:
	scripts/install.sh --llm
	.venv/bin/python app_main.py $(ARGS)

test:
	scripts/install.sh --dev --llm-small
	.venv/bin/python -m pytest $(PYTEST_ARGS)

install:
	scripts/install.sh --dev

lint:
	scripts/install.sh --dev
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

bench:
	scripts/install.sh --dev
	.venv/bin/python bench/bench_bpr.py && .venv/bin/python bench/bench_topk.py && \
	.venv/bin/python bench/bench_vectors.py && .venv/bin/python bench/bench_tools.py
