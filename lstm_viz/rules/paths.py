"""Where the files shipped with the app live, named once for every layer that reads them."""
from __future__ import annotations

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
ASSETS_DIR = PROJECT_DIR / "assets"
DATA_DIR = ASSETS_DIR / "data"
