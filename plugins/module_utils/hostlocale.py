# -*- coding: utf-8 -*-
# Copyright: (c) 2026, quiesce.domino contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's language as the collection's readers see it, and whether they can read it.

Pure functions, no I/O.  Windows tools print in the UI language of the session that runs them, in the system's
OEM code page.  Every reader of the collection decides by evidence that does not depend on that language: sc's
state by its code, robocopy's summary and error lines by position and code, diskshadow's shadow copies by shape
(GUIDs, ``%alias%``, volume and device paths), what an expose, unexpose or delete left behind by
``Win32_ShadowCopy`` read back in the same call (diskshadow.SHADOW_PROBE_SCRIPT), the Domino writer by its ID
(``writer verify``).  So a host is supported in any UI language whose output the executor can decode: its OEM
code page must be known (the host inventory reads it).  What is still refused:

* a host that does not report its UI culture, or a non-English one whose OEM code page is unknown (the output
  could not be decoded): every method, before anything is frozen;
* on a non-English host, ``vss_writer`` without ``domino_writer_id``: the writers that took part are named only
  in diskshadow's sentences, so the writer must be verified by its ID (``writer_methods``).
"""

from __future__ import annotations

import re
import typing as t

# UI languages whose sentences (diskshadow's writer lines, its English confirmations) the collection reads as a
# hint besides the evidence (the language part of a culture name such as en-US, en-GB).
SENTENCE_LANGUAGES = ("en",)
SUPPORTED_LANGUAGES = SENTENCE_LANGUAGES  # kept for callers of the former name
_CULTURE_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")


def _name(value: t.Any) -> t.Optional[str]:
    text = value.strip() if isinstance(value, str) else ""
    return text if _CULTURE_RE.match(text) else None


def _code_page(value: t.Any) -> t.Optional[int]:
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    return int(text) if text.isdigit() and 0 < int(text) < 65536 else None


def culture_support(ui_culture: t.Optional[str], installed_ui_culture: t.Optional[str] = None,
                    oem_code_page: t.Any = None) -> dict[str, t.Any]:
    """Whether the tools' output is readable on a host: {supported, language, sentences, reason}.  ``ui_culture``
    is the UI culture of the session that runs the tools ((Get-UICulture).Name); without it the installed one
    (CultureInfo.InstalledUICulture.Name) stands in.  ``oem_code_page`` is the OEMCP value the console tools
    write in.  ``sentences`` says whether diskshadow's sentences are in a language read as a hint (English)."""
    culture = _name(ui_culture) or _name(installed_ui_culture)
    if culture is None:
        return {"supported": False, "language": None, "sentences": False,
                "reason": "the host did not report its UI culture, so the language and code page its tools print in "
                          "are unknown; quiesce.domino refuses to quiesce it"}
    language = culture.split("-")[0].lower()
    if language in SENTENCE_LANGUAGES:
        return {"supported": True, "language": language, "sentences": True,
                "reason": "UI culture %s: the tools print English; every outcome is judged by evidence, diskshadow's "
                          "English sentences are read as a hint" % culture}
    code_page = _code_page(oem_code_page)
    if code_page is None:
        return {"supported": False, "language": language, "sentences": False,
                "reason": "UI culture %s: the host did not report its OEM code page (the OEMCP value), so the output "
                          "of its console tools cannot be decoded; quiesce.domino refuses to quiesce or snapshot this "
                          "host before anything is frozen" % culture}
    return {"supported": True, "language": language, "sentences": False,
            "reason": "UI culture %s, OEM code page %d: the tools print in this language and every outcome is judged "
                      "by evidence (sc by state code, robocopy by position and error code, shadow copies by shape and "
                      "by Win32_ShadowCopy read back after diskshadow); method vss_writer needs domino_writer_id "
                      "(diskshadow names the writers only in sentences)" % (culture, code_page)}


def writer_methods(methods: dict[str, dict[str, t.Any]], culture: t.Optional[dict[str, t.Any]],
                   writer_id: t.Optional[str]) -> dict[str, dict[str, t.Any]]:
    """vss_writer is impossible on a host whose diskshadow does not print English unless the Domino writer is named
    by its ID: ``writer verify {GUID}`` then makes the creation fail when the writer is missing (Microsoft's
    diskshadow ``writer`` reference), which is evidence in any language; the writer lines are sentences."""
    vss = methods.get("vss_writer")
    culture = culture or {}
    if writer_id or not vss or not vss.get("possible") or culture.get("sentences", culture.get("language") in SENTENCE_LANGUAGES):
        return methods
    return dict(methods, vss_writer={"possible": False, "why": (
        "UI culture of language %s: diskshadow names the writers that took part only in sentences of that "
        "language; name Domino's VSS writer by its ID (domino_writer_id, shown by vssadmin list writers) so "
        "that diskshadow's writer verify decides" % culture.get("language"))})


def parse_culture(doc: t.Any) -> dict[str, t.Any]:
    """The ``culture`` object of the host inventory -> the facts domino_info reports.

    ``installed_ui_culture`` (CultureInfo.InstalledUICulture: the language Windows was installed in),
    ``ui_culture`` (Get-UICulture: the language the tools print in this session), ``format_culture``
    (Get-Culture: dates and numbers), ``oem_code_page`` (the OEMCP value: the code page console tools write in),
    then ``supported``, ``language``, ``sentences`` and ``reason`` from culture_support."""
    doc = doc if isinstance(doc, dict) else {}
    facts: dict[str, t.Any] = {"installed_ui_culture": _name(doc.get("installed_ui")), "ui_culture": _name(doc.get("ui")),
                               "format_culture": _name(doc.get("format")), "oem_code_page": _code_page(doc.get("oem_code_page"))}
    facts.update(culture_support(facts["ui_culture"], facts["installed_ui_culture"], facts["oem_code_page"]))
    return facts


def refuse_methods(methods: dict[str, dict[str, t.Any]], culture: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    """Every method impossible, with the culture's reason, when the host's culture is not supported."""
    if culture.get("supported"):
        return methods
    return {name: {"possible": False, "why": culture.get("reason") or "the host's UI culture is not supported"}
            for name in methods}
