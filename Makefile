# The two commands of the README:
#   make run    install if needed, build the stores and model if needed, start the app
#   make test   install if needed (incl. dev tools and the small local LLM), run every test
# Install parts are stamped separately (scripts/install.sh): switching between the two
# reinstalls nothing.
PYTEST_ARGS ?=

.PHONY: run test install lint bench bench-arag bench-assistant
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

# ARAG on the local 0.5B and 1.5B (long on 2 cores: minutes per recommendation); ARGS passes flags
bench-arag:
	.venv/bin/python bench/bench_arag.py $(ARGS)

# The assistant in plan mode on the peer project's 50 tool-use queries (0.5B and 1.5B; ~25 min)
bench-assistant:
	.venv/bin/python bench/bench_assistant.py $(ARGS)
