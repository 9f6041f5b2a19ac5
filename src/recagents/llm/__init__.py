"""LLM access: provider factory, embedded local server, structured output, accounting."""
