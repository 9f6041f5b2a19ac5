"""Where Chainlit runs from in this test process: a folder written from the package's shipped
config and theme (``web.chat.chainlit_root``), never the working directory. Chainlit reads
``CHAINLIT_APP_ROOT`` once, when first imported (some chat test modules import it while being
collected), so it is set here, before them. Host processes started by the tests get their own
(``<data_dir>/chainlit``: their environment leaves the variable out)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from recagents.web.chat.chainlit_root import write_app_root

if not os.environ.get("CHAINLIT_APP_ROOT"):
    _root = Path(tempfile.gettempdir()) / f"recagents-test-chainlit-{os.getuid()}"
    os.environ["CHAINLIT_APP_ROOT"] = str(write_app_root(_root))
