"""The file Chainlit loads (the host's ``mount_chainlit`` target): importing the callbacks
module registers them. Chainlit executes this file by its path, so the callbacks live in an
ordinary module (``handlers``), imported once whoever imports it."""

from recagents.web.chat import handlers  # noqa: F401 - importing registers the Chainlit callbacks
