"""Pieces every HTML page of the package shares: its assets, escaping, numbers, links and data tables.

:func:`table_spec` turns a DataFrame into the JSON that ``assets/report.js`` draws as a sortable,
filterable, paginated table; :func:`table_block` places it in a page.
"""

from __future__ import annotations

import html
import json
import math
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

__all__ = ["PAGE_SIZE", "asset", "escape", "number", "table_spec", "table_block", "drop_empty", "relative_href",
           "figure_blocks"]

PAGE_SIZE = 50


def asset(name: str) -> str:
    """The text of one of the report's assets (``report.css``, ``report.js``)."""
    return resources.files("qscore.report").joinpath("assets", name).read_text(encoding="utf-8")


def escape(value) -> str:
    """``value`` as HTML text (quotes escaped too)."""
    return html.escape(str(value), quote=True)


def number(value, digits: int = 3, none: str = "–") -> str:
    """A number with ``digits`` decimals, or ``none`` for a missing or non-finite value.

    Parameters
    ----------
    value : number or None
    digits : int
    none : str — shown for no value
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        return none
    return none if not math.isfinite(v) else f"{v:.{digits}f}"


def _json_value(v):
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if not math.isfinite(float(v)) else round(float(v), 6)
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    return v if isinstance(v, (int, str)) else str(v)


def _json_column(values: pd.Series) -> list:
    """:func:`_json_value` of each cell of a column, by the column's type (Python values, not numpy scalars)."""
    kind = values.dtype.kind
    if kind == "f":
        return [round(v, 6) if math.isfinite(v) else None for v in values.to_numpy(dtype=np.float64).tolist()]
    if kind in "iub" and not values.hasnans:
        return values.to_numpy().tolist()
    if isinstance(values.dtype, pd.StringDtype) and not values.hasnans:  # Python strings already
        return values.tolist()
    return [_json_value(v) for v in values.tolist()]


def table_spec(table: pd.DataFrame, columns, *, flag: str | None = None, page_size: int = PAGE_SIZE) -> dict:
    """The JSON the report's table script draws: column descriptions and rows.

    Parameters
    ----------
    table : DataFrame
    columns : list of (key, label, type, digits, searchable) — type 'num' or 'str'; columns the
        table lacks are skipped
    flag : str, optional — the column holding 'below'/'within'/'above' (highlighted, filterable)
    page_size : int — rows per page at first

    Returns
    -------
    dict with ``columns``, ``rows`` (lists, NaN as null), ``flag`` (column index or None), ``pageSize``, and
    ``residue`` ([chain, number, insertion code] column indices) when the rows name residues
    """
    cols = [c for c in columns if c[0] in table.columns]
    spec_cols = [{"key": k, "label": lab, "type": typ, **({"digits": d} if d is not None else {}),
                  "search": bool(s)} for k, lab, typ, d, s in cols]
    values = [_json_column(table[c[0]]) for c in cols]
    rows = [list(row) for row in zip(*values, strict=True)] if cols else [[] for _ in range(len(table))]
    keys = [c[0] for c in cols]
    spec = {"columns": spec_cols, "rows": rows, "flag": keys.index(flag) if flag in keys else None,
            "pageSize": page_size}
    if "chain" in keys and "res_num" in keys:  # rows name a residue: a click on one asks the 3D view to focus it
        spec["residue"] = [keys.index("chain"), keys.index("res_num"),
                           keys.index("ins_code") if "ins_code" in keys else None]
    return spec


def _json_script(target: str, spec: dict) -> str:
    text = json.dumps(spec, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" class="qs-table-data" data-target="{escape(target)}">{text}</script>'


def table_block(target: str, spec: dict, empty: str) -> str:
    """A sortable, filterable table drawn by ``report.js`` from ``spec``, or the ``empty`` note without rows.

    Parameters
    ----------
    target : str — the element id
    spec : dict — from :func:`table_spec`
    empty : str — shown when there are no rows
    """
    if not spec["rows"]:
        return f'<p class="note">{escape(empty)}</p>'
    return (f'<div id="{escape(target)}" class="qs-table-block"></div>{_json_script(target, spec)}'
            '<noscript><p class="note">The tables need JavaScript; the CSV files hold the same data.</p></noscript>')


def drop_empty(table: pd.DataFrame, columns) -> list:
    """Columns of ``columns`` that hold at least one value in ``table`` (no all-empty part columns).

    Parameters
    ----------
    table : DataFrame
    columns : list of (key, label, type, digits, searchable) — as for :func:`table_spec`
    """
    out = []
    for c in columns:
        if c[0] not in table.columns:
            continue
        col = table[c[0]]
        if col.isna().all() or (c[2] == "str" and (col.astype(str).str.strip() == "").all()):
            continue
        out.append(c)
    return out


def relative_href(path, folder: Path) -> str:
    """A link to ``path`` relative to ``folder`` (a ``file://`` URI when it lies outside).

    Parameters
    ----------
    path : str or Path
    folder : Path — where the page is
    """
    p = Path(path).resolve()
    try:
        rel = p.relative_to(folder.resolve()).as_posix()
    except ValueError:
        return p.as_uri()
    return quote(rel)


def figure_blocks(figures: list, folder) -> str:
    """The figures of a page: each drawn one as an embedded image with its caption and PNG/SVG links, each
    one not drawn as a note saying why.

    Parameters
    ----------
    figures : list of dict — key, title and either caption, data_uri, png, svg (drawn) or note
    folder : str or Path — where the page is (for the links)
    """
    out = []
    for f in figures:
        if f.get("data_uri"):
            links = " ".join(f'<a href="{relative_href(f[k], Path(folder))}">{k.upper()}</a>' for k in ("png", "svg")
                             if f.get(k))
            out.append(f'<figure id="fig-{escape(f["key"])}"><h3>{escape(f["title"])}</h3>'
                       f'<img src="{f["data_uri"]}" alt="{escape(f["title"])}">'
                       f'<figcaption>{escape(f["caption"])} {links}</figcaption></figure>')
        else:
            out.append(f'<div class="note figure-note" id="fig-{escape(f["key"])}"><strong>{escape(f["title"])}:'
                       f"</strong> {escape(f['note'])}</div>")
    return "".join(out)
