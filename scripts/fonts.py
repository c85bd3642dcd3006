"""Make sure the PDF letters have a Simplified Chinese font (run by the Makefile's set-up).

Nothing to do when the system has Noto Sans CJK SC (Debian's fonts-noto-cjk, the Docker image)
or the font file is already there. Otherwise the SIL OFL font NotoSansCJKsc-Regular.otf is
taken from the `mplfonts` wheel on PyPI (the one registry every machine of the project
reaches) into `.fonts/`, where settings.LETTER_CJK_FONT_FILE expects it by default.

    python scripts/fonts.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAMILY = "Noto Sans CJK SC"
WHEEL = "mplfonts==0.0.11"
MEMBER = "mplfonts/fonts/NotoSansCJKsc-Regular.otf"


def _log(message: str) -> None:
    print(f"[fonts] {message}", flush=True)


def font_file() -> Path:
    # The same default as kvisa/settings.py, read without loading Django.
    default = ROOT / ".fonts" / "NotoSansCJKsc-Regular.otf"
    return Path(os.environ.get("LETTER_CJK_FONT_FILE") or default)


def system_has_font() -> bool:
    """fc-match always answers with some font: only an exact family match counts."""
    if shutil.which("fc-match") is None:
        return False
    result = subprocess.run(
        ["fc-match", "--format=%{family}", FAMILY],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    return FAMILY in result.stdout.split(",")


def fetch(target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", tmp, WHEEL],
            check=True,
        )
        (wheel,) = Path(tmp).glob("mplfonts-*.whl")
        with zipfile.ZipFile(wheel) as archive, archive.open(MEMBER) as source:
            # Written beside the target and renamed, so an interrupted run leaves no half font.
            partial = target.with_suffix(".part")
            with partial.open("wb") as out:
                shutil.copyfileobj(source, out)
            partial.replace(target)


def main() -> int:
    target = font_file()
    if target.is_file() or system_has_font():
        return 0
    _log(f"{FAMILY} is not installed; fetching {MEMBER} from {WHEEL} into {target}")
    fetch(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
