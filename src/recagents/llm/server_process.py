"""Child process serving one GGUF model with xllamacpp (llama.cpp's server, OpenAI-compatible /v1).

Started by ``recagents.llm.local_server``; never meant to outlive its parent:
- Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` kills it the moment the parent dies;
- everywhere: a watcher thread exits when the parent pid changes (re-parented orphan).

The API key (``RECAGENTS_LLM_SERVER_KEY`` in the environment, set by the parent; not on the
command line, which other users can read) is required on every route but the health check.
When the model is loaded and the HTTP server listens, it writes ``{"address", "pid"}`` to the
ready file (atomically) and then sleeps until it is terminated.

Usage: ``python -m recagents.llm.server_process --model FILE --ready-file FILE [--parent-pid PID]``
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
API_KEY_ENV = "RECAGENTS_LLM_SERVER_KEY"  # the API key clients must send (from the parent)


def _die_with_parent(parent_pid: int | None) -> None:
    if parent_pid is None:
        return
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # parent already gone before prctl took effect
        os._exit(3)

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(3)
            time.sleep(0.5)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _params(args: argparse.Namespace):
    import xllamacpp

    p = xllamacpp.CommonParams()
    p.model.path = args.model
    p.model_alias = {args.alias}
    p.hostnames = [args.host]
    p.port = args.port  # 0: the server picks a free port
    p.n_ctx = args.ctx_size
    p.n_parallel = args.parallel
    p.kv_unified = True  # every slot may use the whole context
    p.use_jinja = True  # the model's own chat template
    p.cpuparams.n_threads = args.threads
    p.cpuparams_batch.n_threads = args.threads
    p.n_threads_http = max(2, args.parallel + 1)
    p.timeout_read = args.timeout_s
    p.timeout_write = args.timeout_s
    p.ui = False
    if key := os.environ.get(API_KEY_ENV):
        p.api_keys = [key]  # every route but /health and /models needs it
    p.endpoint_metrics = True
    return p


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--alias", default="local")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ctx-size", type=int, default=8192)
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--timeout-s", type=int, default=600)
    ap.add_argument("--ready-file")
    ap.add_argument("--parent-pid", type=int)
    args = ap.parse_args(argv)

    _die_with_parent(args.parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    import xllamacpp

    try:  # returns once the model is loaded and the HTTP server listens
        server = xllamacpp.Server(_params(args))
    except Exception as exc:  # noqa: BLE001 - llama.cpp logged the cause just above
        print(f"error: cannot serve {args.model}: {exc}", file=sys.stderr, flush=True)
        return 1
    address = server.listening_address
    print(f"recagents local LLM server listening on {address}", file=sys.stderr, flush=True)
    if args.ready_file:
        tmp = f"{args.ready_file}.tmp"
        with open(tmp, "w") as fh:
            json.dump({"address": address, "pid": os.getpid()}, fh)
        os.replace(tmp, args.ready_file)
    while not stop.wait(1.0):
        pass
    sys.stderr.flush()
    os._exit(0)  # skip native destructors: nothing to save, and they may block


if __name__ == "__main__":
    sys.exit(main())
