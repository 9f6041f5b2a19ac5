"""The folder Chainlit runs from (``CHAINLIT_APP_ROOT``), written from this package.

Chainlit reads its config from ``<root>/.chainlit/config.toml`` and the page's theme from
``<root>/public/theme.json`` (no external fonts: the page works offline), and writes its
translations (``.chainlit/translations/``) and uploads (``.files/``) there, all when
``chainlit`` is first imported. The two files ship in ``chainlit_files/``; ``use_app_root``
writes them to ``<data_dir>/chainlit`` (written like everything built) and points Chainlit
there, so an installed package serves the same chat from any working directory.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SHIPPED = Path(__file__).resolve().parent / "chainlit_files"
PLACES = {  # shipped file -> where Chainlit reads it, under the app root
    "config.toml": Path(".chainlit") / "config.toml",
    "theme.json": Path("public") / "theme.json",
}
APP_ROOT_DIR = "chainlit"  # under the data folder


def write_app_root(directory: Path) -> Path:
    """Write (or refresh) the shipped config and theme under ``directory``; returns it."""
    for name, relative in PLACES.items():
        content = (SHIPPED / name).read_bytes()
        target = directory / relative
        if target.is_file() and target.read_bytes() == content:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(content)
        partial.replace(target)
    return directory


def use_app_root(data_dir: Path) -> Path:
    """Point Chainlit at ``<data_dir>/chainlit`` (written here) unless ``CHAINLIT_APP_ROOT``
    names another folder; returns the root Chainlit uses. Call it before ``chainlit`` is
    imported: Chainlit reads the variable once per process."""
    loaded = sys.modules.get("chainlit.config")
    if loaded is not None:  # already imported: its root stays (one Chainlit app per process)
        return Path(loaded.APP_ROOT)
    if not os.environ.get("CHAINLIT_APP_ROOT"):
        os.environ["CHAINLIT_APP_ROOT"] = str(write_app_root(Path(data_dir) / APP_ROOT_DIR))
    return Path(os.environ["CHAINLIT_APP_ROOT"])
