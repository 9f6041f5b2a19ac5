"""`recagents llm …` commands (filled in by the LLM issue)."""

import typer

llm_app = typer.Typer(help="LLM backends: check the configured one.", no_args_is_help=True)
