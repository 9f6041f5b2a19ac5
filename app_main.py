"""Main entry point: `python app_main.py [flags]` (what `make run` starts).

Builds whatever is missing (`recagents setup`), then serves the host process: the chat
(Chainlit) at http://HOST:PORT/chat and the REST API beside it (docs at /docs), sharing one
set of stores and one LLM.

LLM flags (as in the peer project; environment variables RECAGENTS_* work too):
  (none)                        OpenAI if OPENAI_API_KEY is set, else the embedded local Qwen
  --llm gpt-4.1                 OpenAI with that model (key from OPENAI_API_KEY)
  --self_host [--llm qwen2.5:7b]  Ollama (RECAGENTS_OLLAMA_BASE_URL)
  --base-url URL [--llm NAME]   any OpenAI-compatible server (…/v1)
  --provider P                  force auto | openai | ollama | openai-compatible | local
Ours on top: --mode tools|plan, --engine arag|bpr, --host, --port, --setup-only.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys

PROVIDERS = ("auto", "openai", "ollama", "openai-compatible", "local")
DEFAULT_PORT = 8000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--self_host", action="store_true", help="Use an Ollama server.")
    parser.add_argument(
        "--llm",
        default=None,
        help="Model name: OpenAI's (e.g. gpt-4.1), Ollama's with --self_host (e.g. qwen2.5:7b), "
        "or the server's with --base-url. A provider name (auto, openai, ollama, "
        "openai-compatible, local) is accepted too.",
    )
    parser.add_argument("--provider", choices=PROVIDERS, default=None, help="Force a backend.")
    parser.add_argument("--base-url", default=None, help="OpenAI-compatible base URL (…/v1).")
    parser.add_argument("--model", default=None, help="Model name (same as --llm NAME).")
    parser.add_argument("--mode", choices=["tools", "plan"], default=None, help="Assistant mode.")
    parser.add_argument(
        "--engine", choices=["arag", "bpr"], default=None, help="How the chat recommends."
    )
    parser.add_argument("--host", default="127.0.0.1", help="Interface to listen on.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="Port to listen on.")
    parser.add_argument("--setup-only", action="store_true", help="Build what is missing and exit.")
    return parser.parse_args(argv)


def apply_flags(args: argparse.Namespace) -> None:
    """Flags win over the environment: write them where Settings reads them."""
    provider, model = args.provider, args.model
    if args.llm in PROVIDERS:
        provider = provider or args.llm
    elif args.llm:
        model = model or args.llm
    if args.self_host:
        provider = provider or "ollama"
    if args.base_url:
        os.environ["RECAGENTS_LLM_BASE_URL"] = args.base_url
        provider = provider or "openai-compatible"
    if model and not provider:
        provider = "openai"  # `--llm gpt-4.1`: the peer's way to pick an OpenAI model
    if provider:
        os.environ["RECAGENTS_LLM_PROVIDER"] = provider
    if model:
        key = "RECAGENTS_OLLAMA_MODEL" if provider == "ollama" else "RECAGENTS_LLM_MODEL"
        if provider == "local":
            key = "RECAGENTS_LOCAL_MODEL"
        os.environ[key] = model


def port_problem(host: str, port: int) -> str | None:
    """Why the app cannot listen on host:port (None when it can)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"port {port} on {host} is already in use (another recagents?): "
                    f"pass --port with a free port, e.g. --port {port + 1}"
                )
            return f"cannot listen on {host}:{port}: {exc.strerror}; check --host / --port"
    return None


def setup() -> int:
    from recagents.cli.main import main as cli_main

    sys.argv = ["recagents", "setup"]
    try:
        cli_main()
    except SystemExit as exc:
        if exc.code:
            return int(exc.code)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    apply_flags(args)
    if not args.setup_only and (problem := port_problem(args.host, args.port)):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    code = setup()
    if code or args.setup_only:
        return code
    import uvicorn

    from recagents.web.host import CHAT_PATH, create_app

    app = create_app(bind_host=args.host, mode=args.mode, engine=args.engine)
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    print(
        f"\nrecagents is starting: open http://{shown}:{args.port}{CHAT_PATH} "
        f"(REST API docs: http://{shown}:{args.port}/docs). Ctrl+C stops it.\n",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
