"""Text shown literally inside Streamlit's Markdown: formulas such as ∂h_T/∂h_t or |P − 0.5| keep their
underscores, bars and dollar signs instead of turning into italics, tables or LaTeX."""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~$])")


def literal(text: str) -> str:
    """``text`` with every Markdown character backslash-escaped.

    >>> literal("∂h_T/∂h_t, |P − 0.5|, $5")
    '∂h\\\\_T/∂h\\\\_t, \\\\|P − 0.5\\\\|, \\\\$5'
    """
    return _SPECIAL.sub(r"\\\1", str(text))
