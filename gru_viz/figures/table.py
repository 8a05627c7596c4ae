"""Small tables as plain HTML, for a page to show with ``st.html``: drawn on load, they need none of
``st.dataframe``'s grid code in the browser (~0.3 s of main-thread work before a page that holds one paints).
Numbers print with a given format and keep their exact value in the cell's tooltip; text is escaped, so a word
that holds markup shows as the characters typed.
"""

from __future__ import annotations

import html

__all__ = ["values_table_html"]


def values_table_html(rows: list[dict], formats: dict[str, str], *, max_height: int | None = None) -> str:
    """``rows`` (dicts with the same keys, in column order) as a plain HTML table: a column named in ``formats``
    is a number printed with its format (e.g. "+.4f"), right-aligned, with its exact value in the cell's tooltip
    (Python's shortest repr, which reads back as the same float); every other cell is text, escaped.
    ``max_height`` (px): taller tables scroll under a sticky header.

    >>> values_table_html([{"word": "<b>", "h": 0.123456789}], {"h": "+.4f"}).split("<tbody>")[1]
    '<tr><td>&lt;b&gt;</td><td class="number" title="0.123456789">+0.1235</td></tr></tbody></table></div>'
    """
    columns = list(rows[0]) if rows else list(formats)

    def cell(name: str, value) -> str:
        if name in formats:
            return f'<td class="number" title="{float(value)!r}">{float(value):{formats[name]}}</td>'
        return f"<td>{html.escape(str(value))}</td>"

    number = ' class="number"'
    head = "".join(f"<th{number if name in formats else ''}>{html.escape(name)}</th>" for name in columns)
    body = "".join("<tr>" + "".join(cell(name, row[name]) for name in columns) + "</tr>" for row in rows)
    scroll = f"max-height:{int(max_height)}px;overflow-y:auto" if max_height else ""
    style = ("<style>.values-table{border-collapse:collapse;font-size:0.875rem;width:100%}"
             ".values-table th,.values-table td{padding:0.25rem 0.6rem;border-bottom:1px solid rgba(49,51,63,0.1);"
             "text-align:left}.values-table th{position:sticky;top:0;background:#fafafa;font-weight:600}"
             ".values-table .number{text-align:right;font-variant-numeric:tabular-nums}</style>")
    return (f'{style}<div style="{scroll}"><table class="values-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")
