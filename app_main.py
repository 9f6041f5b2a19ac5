"""`python app_main.py [flags]` (what `make run` starts) is `recagents serve [flags]`: build
what is missing, then serve the chat at http://HOST:PORT/chat and the REST API beside it.
`python app_main.py --help` lists the flags (README, "The chat (browser) and the host process").
"""

import sys

from recagents.cli.main import main

if __name__ == "__main__":
    main(["serve", *sys.argv[1:]])
