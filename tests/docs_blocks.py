"""The fenced code blocks of the Markdown docs, and the scale-down the doc tests run them at
(tests/test_plugins_docs.py, tests/test_docs_blocks.py): each test keeps its own documented table
of (pattern, replacement) pairs, applied in order, that changes sizes only."""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

#: a table of (regular expression, replacement), applied in order
Scale = Sequence[Tuple[str, str]]

# an opening fence at the start of a line, its language (possibly none), the text up to the
# closing fence; blocks never nest in these docs
_FENCE = re.compile(r"^```([\w-]*)\n(.*?)^```", flags=re.S | re.M)


def fenced(doc: Path) -> List[Tuple[str, str, str]]:
    """Every fenced block of ``doc`` in order: (the nearest heading above it, its language ('' for
    none), its text)."""
    text = doc.read_text()
    found = []
    for match in _FENCE.finditer(text):
        headings = re.findall(r"^#+ .*$", text[: match.start()], flags=re.M)
        found.append((headings[-1] if headings else "", match.group(1), match.group(2)))
    return found


def code_blocks(doc: Path, language: Optional[str] = None, heading: Optional[str] = None) -> List[str]:
    """The text of ``doc``'s blocks, only those in ``language`` ('' for blocks without one) and under
    ``heading`` (the heading line, e.g. ``"## Commands"``) where given."""
    return [body for head, lang, body in fenced(doc)
            if (language is None or lang == language) and (heading is None or head == heading)]


def scaled(text: str, scale: Scale) -> str:
    """``text`` with each (pattern, replacement) of ``scale`` substituted in turn."""
    for pattern, small in scale:
        text = re.sub(pattern, small, text)
    return text
