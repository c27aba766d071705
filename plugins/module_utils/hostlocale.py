# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's language as the collection's readers see it, and whether they can read it.

Pure functions, no I/O.  Windows tools print in the UI language of the session that runs them: sc's state,
robocopy's summary and error lines are read by code, position and shape in any language; diskshadow's shadow
copies are read by shape too, but its confirmations (an exposure, an unexposure, a deletion) and its writer
lines are sentences, read in English only, and no localized diskshadow transcript has been published to build
their reader from (tests/unit/data/locale/SOURCES.md).  A host whose tools would print another language is
refused before anything is frozen: every quiesce method is marked impossible with the reason.
"""

from __future__ import annotations

import re
import typing as t

# UI languages whose tool output every reader of the collection understands (the language part of a culture
# name such as en-US, en-GB).
SUPPORTED_LANGUAGES = ("en",)
_CULTURE_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")


def _name(value: t.Any) -> t.Optional[str]:
    text = value.strip() if isinstance(value, str) else ""
    return text if _CULTURE_RE.match(text) else None


def _code_page(value: t.Any) -> t.Optional[int]:
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    return int(text) if text.isdigit() and 0 < int(text) < 65536 else None


def culture_support(ui_culture: t.Optional[str], installed_ui_culture: t.Optional[str] = None) -> dict[str, t.Any]:
    """Whether the tools' output is readable on a host: {supported, language, reason}.  ``ui_culture`` is the
    UI culture of the session that runs the tools ((Get-UICulture).Name); without it the installed one
    (CultureInfo.InstalledUICulture.Name) stands in."""
    culture = _name(ui_culture) or _name(installed_ui_culture)
    if culture is None:
        return {"supported": False, "language": None,
                "reason": "the host did not report its UI culture, so whether its tools print English is unknown; "
                          "quiesce.domino refuses to quiesce it"}
    language = culture.split("-")[0].lower()
    if language in SUPPORTED_LANGUAGES:
        return {"supported": True, "language": language,
                "reason": "UI culture %s: the tools print English, every transcript is read" % culture}
    return {"supported": False, "language": language,
            "reason": "UI culture %s: diskshadow's confirmations (exposure, unexposure, deletion) and writer lines "
                      "would print in this language, which quiesce.domino cannot read yet (only English: no localized "
                      "diskshadow transcript has been published to check them against); it refuses to quiesce or "
                      "snapshot this host before anything is frozen. sc, robocopy and the shadow copies themselves are "
                      "read in any language. Run the collection with an account whose Windows display language is "
                      "English, or send the host's diskshadow transcripts so that its language can be added"
                      % culture}


def parse_culture(doc: t.Any) -> dict[str, t.Any]:
    """The ``culture`` object of the host inventory -> the facts domino_info reports.

    ``installed_ui_culture`` (CultureInfo.InstalledUICulture: the language Windows was installed in),
    ``ui_culture`` (Get-UICulture: the language the tools print in this session), ``format_culture``
    (Get-Culture: dates and numbers), ``oem_code_page`` (the OEMCP value: the code page console tools write in),
    then ``supported``, ``language`` and ``reason`` from culture_support."""
    doc = doc if isinstance(doc, dict) else {}
    facts: dict[str, t.Any] = {"installed_ui_culture": _name(doc.get("installed_ui")), "ui_culture": _name(doc.get("ui")),
                               "format_culture": _name(doc.get("format")), "oem_code_page": _code_page(doc.get("oem_code_page"))}
    facts.update(culture_support(facts["ui_culture"], facts["installed_ui_culture"]))
    return facts


def refuse_methods(methods: dict[str, dict[str, t.Any]], culture: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    """Every method impossible, with the culture's reason, when the host's culture is not supported."""
    if culture.get("supported"):
        return methods
    return {name: {"possible": False, "why": culture.get("reason") or "the host's UI culture is not supported"}
            for name in methods}
