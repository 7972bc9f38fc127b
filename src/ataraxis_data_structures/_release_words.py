"""Error messages in the releases' words and layout, for the callers that match them.

The releases wrap every message they raise at 120 columns (words are never split, hyphens never break a line), and
the lab's tests match those wrapped texts (``pytest.raises(match=...)`` on the escaped, wrapped message). A message
built here holds the release's text first, wrapped as the release wraps it, and this library's detail after it:
the release's wrapped text is then a prefix of ours (greedy wrapping decides every line but the release's last from
the release's own words), so a pattern made of the release's message still matches.
"""

from __future__ import annotations

import textwrap

__all__ = ["LINE_WIDTH", "release_message"]

LINE_WIDTH = 120
"""The width at which the releases wrap their messages."""


def release_message(release_text: str, detail: str = "") -> str:
    """Returns the release's message, then this library's detail, wrapped as the releases wrap their messages.

    Args:
        release_text: The message exactly as the release words it (one line; the wrapping is added here).
        detail: What this library adds after it (why, what to do), or nothing.
    """
    text = f"{release_text} {detail}" if detail else release_text
    return textwrap.fill(text, width=LINE_WIDTH, break_long_words=False, break_on_hyphens=False)
