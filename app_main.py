"""Main entry point: `python app_main.py [flags]` (what `make run` starts).

Until the chat UI lands (assistant issue), this builds whatever is missing (`recagents setup`),
then prints the status of the stores, the model and the configured LLM backend.

Flags map onto settings (environment variables RECAGENTS_* work too):
  --self_host            use Ollama (RECAGENTS_OLLAMA_BASE_URL, RECAGENTS_OLLAMA_MODEL)
  --llm PROVIDER         auto | openai | ollama | openai-compatible | local
  --base-url URL         OpenAI-compatible server URL (implies --llm openai-compatible)
  --model NAME           model name for openai / openai-compatible / ollama
  --setup-only           build and exit
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--self_host", action="store_true", help="Use an Ollama server.")
    parser.add_argument(
        "--llm", choices=["auto", "openai", "ollama", "openai-compatible", "local"], default=None
    )
    parser.add_argument("--base-url", default=None, help="OpenAI-compatible base URL (…/v1).")
    parser.add_argument("--model", default=None, help="Model name of the chosen provider.")
    parser.add_argument("--setup-only", action="store_true", help="Build what is missing and exit.")
    return parser.parse_args(argv)


def apply_flags(args: argparse.Namespace) -> None:
    """Flags win over the environment: write them where Settings reads them."""
    provider = args.llm or ("ollama" if args.self_host else None)
    if args.base_url:
        os.environ["RECAGENTS_LLM_BASE_URL"] = args.base_url
        provider = provider or "openai-compatible"
    if provider:
        os.environ["RECAGENTS_LLM_PROVIDER"] = provider
    if args.model:
        key = "RECAGENTS_OLLAMA_MODEL" if provider == "ollama" else "RECAGENTS_LLM_MODEL"
        os.environ[key] = args.model


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    apply_flags(args)
    from recagents.cli import main as cli_main

    sys.argv = ["recagents", "setup"]
    try:
        cli_main()
    except SystemExit as exc:
        if exc.code:
            return int(exc.code)
    if args.setup_only:
        return 0
    from recagents.settings import get_settings
    from recagents.status import collect_status

    settings = get_settings()
    status = collect_status(settings)
    status["llm_provider"] = settings.llm_provider
    print(json.dumps(status, indent=2, default=str))
    print(
        "recagents is built. The chat UI arrives with the assistant issue; meanwhile try "
        "`recagents status`, `recagents llm check`.",
        file=sys.stderr,
    )
    return 0 if status["ready"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
