# The two commands of the README:
#   make run    install if needed, build the stores and model if needed, start the app
#   make test   install if needed (incl. dev tools and the small local LLM), run every test
# Install parts are stamped separately (scripts/install.sh): switching between the two
# reinstalls nothing.
PYTEST_ARGS ?=

.PHONY: run test install lint bench bench-engines bench-arag bench-assistant bench-api bench-chat bench-scale
run:
	scripts/install.sh --llm
	.venv/bin/python app_main.py $(ARGS)

test:
	scripts/install.sh --dev --llm-small --browser
	.venv/bin/python -m pytest $(PYTEST_ARGS)

install:
	scripts/install.sh --dev

# ruff (lint + format) over the tree; mypy over the typed layers ([tool.mypy] in pyproject.toml)
lint:
	scripts/install.sh --dev
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

bench:
	scripts/install.sh --dev
	.venv/bin/python bench/bench_bpr.py && .venv/bin/python bench/bench_topk.py && \
	.venv/bin/python bench/bench_vectors.py && .venv/bin/python bench/bench_tools.py

# Every shipped engine (BPR, LightGCN, EASE, ItemKNN, MultiVAE, TwoTower) on all 943 test users, same split,
# with CIs; trains the ones without a checkpoint first (~6 min on 2 cores), report + plots in data/reports/
bench-engines:
	.venv/bin/recagents eval ranking --no-llm --users 943 --engines $(ARGS)

# Top-10 serving at 10k / 100k / 1M synthetic items: the dense score matrix vs Qdrant (local mode,
# and qdrant-edge-py exact / HNSW) with and without a genre filter (~20 min on 2 cores; run it alone)
bench-scale:
	scripts/install.sh --dev
	.venv/bin/python bench/bench_scale.py $(ARGS)

# ARAG on the local 0.5B and 1.5B, 20 users each (~12 min on 2 cores; ARGS="--score-nli" also scores
# NLI at fusion weight 0, ~25 min); ARGS passes flags
bench-arag:
	.venv/bin/python bench/bench_arag.py $(ARGS)

# The assistant in plan mode on the peer project's 50 tool-use queries (0.5B and 1.5B; ~25 min)
bench-assistant:
	.venv/bin/python bench/bench_assistant.py $(ARGS)

# The REST API: requests/s of GET /items/{id} and POST /recommend?llm=false vs a bare endpoint,
# /recommend with the local LLM, /items while an LLM request runs (ARGS="--model …")
bench-api:
	.venv/bin/python bench/bench_api.py $(ARGS)

# The chat in headless Chromium with the local 1.5B: page load, first step, first token, full
# answer per turn kind (~10 min on 2 cores; run it alone)
bench-chat:
	.venv/bin/python bench/bench_chat.py $(ARGS)
