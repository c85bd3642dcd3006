"""The Chinese catalogue is complete, compiled, and covers every string in the sources."""

from __future__ import annotations

import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings

from tests.conftest import unavailable

LOCALE_DIR = Path(settings.BASE_DIR, "locale", "zh_Hans", "LC_MESSAGES")
PO_PATH = LOCALE_DIR / "django.po"
MO_PATH = LOCALE_DIR / "django.mo"


def _untranslated(po: polib.POFile) -> list[str]:
    return [e.msgid for e in po if not e.obsolete and (not e.translated() or e.fuzzy)]


@pytest.fixture(scope="module")
def po() -> polib.POFile:
    return polib.pofile(str(PO_PATH))


def test_every_entry_is_translated_and_none_is_fuzzy(po):
    assert len(po) > 100
    assert _untranslated(po) == []
    assert po.obsolete_entries() == []
    assert po.metadata["Language"] == "zh_Hans"
    assert po.metadata["Plural-Forms"].startswith("nplurals=1;")


def test_compiled_catalogue_matches_the_po_file(po):
    with MO_PATH.open("rb") as fh:
        mo = gettext.GNUTranslations(fh)

    for entry in po:
        if entry.msgid_plural:
            for n in (1, 2, 5):
                expected = entry.msgstr_plural[mo.plural(n)]
                if entry.msgctxt:
                    got = mo.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, n)
                else:
                    got = mo.ngettext(entry.msgid, entry.msgid_plural, n)
                assert got == expected, entry.msgid
        elif entry.msgctxt:
            assert mo.pgettext(entry.msgctxt, entry.msgid) == entry.msgstr, entry.msgid
        else:
            assert mo.gettext(entry.msgid) == entry.msgstr, entry.msgid


def test_catalogue_covers_every_translatable_string_in_the_sources(tmp_path):
    """Re-run makemessages on a copy of the sources: nothing new or untranslated may appear.

    Fails when someone adds a string without translating it (run `make messages`, translate).
    """
    if not shutil.which("xgettext") or not shutil.which("msgmerge"):
        unavailable("GNU gettext (xgettext, msgmerge) is not installed")
    copy = tmp_path / "src"
    shutil.copytree(
        settings.BASE_DIR,
        copy,
        ignore=shutil.ignore_patterns(
            ".venv",
            ".dev",
            ".git",
            "staticfiles",
            "vendor",
            "node_modules",
            "__pycache__",
            "*.mo",
            ".env",
        ),
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kvisa.settings_test", "KVISA_ENV": "test"}
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--locale", "zh_Hans", "--no-obsolete"],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
    )

    fresh = polib.pofile(str(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    committed = {(e.msgctxt, e.msgid) for e in polib.pofile(str(PO_PATH))}
    assert _untranslated(fresh) == []
    assert {(e.msgctxt, e.msgid) for e in fresh} == committed
