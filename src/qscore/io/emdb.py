"""Fetch the EMDB's current table of entries, resolutions and Q-scores (``qscore archive download``).

The table comes from the EMDB search API (``https://www.ebi.ac.uk/emdb/api/search/<query>``, Solr
behind it) asked for the fields ``emdb_id``, ``resolution`` and the Q-score field as CSV, and is
saved in the user's cache (``$XDG_CACHE_HOME/qscore`` or ``~/.cache/qscore``), where
``qscore score … --archive emdb`` finds it.  The address can be changed with ``--url`` or the
environment variable ``QSCORE_EMDB_SEARCH_URL`` (tests point it at an unroutable local address).
"""

from __future__ import annotations

import io
import os
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path

from ..errors import QScoreError
from .files import write_json, write_table
from .paths import cached_archive_path

DEFAULT_SEARCH_URL = "https://www.ebi.ac.uk/emdb/api/search/"
URL_ENV = "QSCORE_EMDB_SEARCH_URL"
DEFAULT_QUERY = 'current_status:"REL"'
DEFAULT_Q_FIELD = "average_qscore_value"
#: how an entry with several fitted models (the field then holds their values, comma-separated) is kept
MULTI_MODEL_RULE = "the mean of the models' values (the field lists one average Q per fitted model)"


def search_url(base: str, query: str, fields, rows: int) -> str:
    """The search-API address asking for some fields of the entries matching a query, as CSV.

    Parameters
    ----------
    base : str — the API's address
    query : str — Solr query
    fields : sequence of str — fields to return
    rows : int — most entries

    Returns
    -------
    str — the URL
    """
    params = urllib.parse.urlencode({"rows": rows, "fl": ",".join(fields), "wt": "csv", "download": "true"})
    return f"{base.rstrip('/')}/{urllib.parse.quote(query, safe='')}?{params}"


def fetch_text(url: str, timeout: float) -> str:
    """GET ``url`` (Accept: text/csv) and return the body as text.

    Parameters
    ----------
    url : str — an http(s) address
    timeout : float — seconds to wait for the server

    Returns
    -------
    str

    Raises
    ------
    QScoreError — not an http(s) address, unreachable server (offline, proxy, DNS), HTTP error, an
    answer broken off or garbled (``http.client.HTTPException``, e.g. fewer bytes than its
    Content-Length), or a body that is not text
    """
    import http.client
    import urllib.error
    import urllib.request  # http.client and ssl: imported only when something is fetched, not at CLI start

    def not_an_address(why: str = "") -> QScoreError:
        return QScoreError(f"'{url}' is not an address of the EMDB search API{why}: give an http:// or https:// "
                           f"URL with url= or ${URL_ENV} (default {DEFAULT_SEARCH_URL}). Nothing was written.",
                           parameter="url")

    try:
        if urllib.parse.urlsplit(url).scheme.lower() not in ("http", "https"):
            raise not_an_address()
        request = urllib.request.Request(url, headers={"Accept": "text/csv", "User-Agent": "qscore"})
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (https/http only)
            body = response.read()
    except (ValueError, http.client.InvalidURL) as exc:  # urllib's 'unknown url type', a bad host or port
        raise not_an_address(f" ({exc})") from None
    except urllib.error.HTTPError as exc:
        raise QScoreError(f"The EMDB search API at '{url}' answered HTTP {exc.code} ({exc.reason}); try again "
                          "later, or check query= and q_field=. Nothing was written.",
                          parameter=("query", "q_field")) from None
    except http.client.HTTPException as exc:  # IncompleteRead (body shorter than announced), bad status line
        raise QScoreError(f"The EMDB search API at '{url}' broke off or garbled its answer "
                          f"({type(exc).__name__}: {exc}); try again later. Nothing was written.") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise QScoreError(f"Cannot reach the EMDB search API at '{url}' ({reason}): you seem to be offline or "
                          "behind a proxy. Connect and retry, or give an archive table you already have with "
                          "'qscore score … --archive FILE'. Nothing was written.") from None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise QScoreError(f"The EMDB search API at '{url}' returned something that is not CSV text; nothing "
                          "was written.") from None


def parse_archive_csv(text: str, q_field: str = DEFAULT_Q_FIELD):
    """The search API's CSV as a table of emdb_id, resolution (Å) and qscore, usable entries only.

    Parameters
    ----------
    text : str — the CSV
    q_field : str — the name of the Q-score field

    Returns
    -------
    (DataFrame, int, int) — the entries with a resolution > 0 and a Q-score (columns emdb_id, resolution,
    qscore, n_models), how many rows were left out, and how many held several models' values (comma-
    separated: kept as :data:`MULTI_MODEL_RULE`)

    Raises
    ------
    QScoreError — not a CSV with emdb_id, resolution and the Q-score field (the columns found are named),
    or a Q-score outside [−1, 1] (the field is probably not the Q-score)
    """
    import pandas as pd

    try:
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError) as exc:
        raise QScoreError(f"The EMDB search API did not return a CSV table ({exc}); nothing was written.") from None
    lower = {str(c).strip().lower(): c for c in table.columns}
    missing = [f for f in ("emdb_id", "resolution", q_field.lower()) if f not in lower]
    if missing:
        raise QScoreError(f"The EMDB search API returned columns {', '.join(map(str, table.columns)) or 'none'} "
                          f"but not {', '.join(missing)}; the Q-score field may have another name: pass it with "
                          "q_field=. Nothing was written.", parameter="q_field")
    values = [[v.strip() for v in str(cell).split(",") if v.strip()] for cell in table[lower[q_field.lower()]]]
    numbers = [pd.to_numeric(pd.Series(v, dtype=object), errors="coerce") for v in values]
    out = pd.DataFrame({
        "emdb_id": table[lower["emdb_id"]].astype(str),
        "resolution": pd.to_numeric(table[lower["resolution"]], errors="coerce"),
        "qscore": [float(n.mean()) if len(n) and n.notna().all() else float("nan") for n in numbers],
        "n_models": [len(v) for v in values],
    })
    bad_q = out["qscore"].notna() & ((out["qscore"] < -1) | (out["qscore"] > 1))
    if bad_q.any():  # as 'qscore archive stats' and 'qscore score --archive' refuse them
        shown = ", ".join(f"{v:g} ({i})" for v, i in zip(out["qscore"][bad_q][:5], out["emdb_id"][bad_q][:5],
                                                          strict=True))
        raise QScoreError(f"The EMDB search API's field '{q_field}' holds {int(bad_q.sum())} value(s) outside "
                          f"[-1, 1], which no Q-score can take: {shown}{', …' if bad_q.sum() > 5 else ''}; the "
                          "Q-score field may have another name: pass it with q_field=. Nothing was written.",
                          parameter="q_field")
    ok = out["resolution"].notna() & out["qscore"].notna() & (out["resolution"] > 0)
    return out[ok].reset_index(drop=True), int((~ok).sum()), int((out["n_models"][ok] > 1).sum())


def download_archive(*, url: str | None = None, query: str = DEFAULT_QUERY, q_field: str = DEFAULT_Q_FIELD,
                     rows: int = 1_000_000, timeout: float = 60.0, out: Path | None = None) -> dict:
    """Fetch the EMDB table and save it (atomically) as CSV.

    Parameters
    ----------
    url : str, optional — the search API (default: $QSCORE_EMDB_SEARCH_URL or the EMDB's)
    query : str — Solr query selecting the entries
    q_field : str — the Q-score field
    rows : int — most entries
    timeout : float — seconds
    out : Path, optional — the file (default: the cache, where ``archive="emdb"`` finds it)

    Returns
    -------
    dict — path, url, entries (saved), left_out (rows without resolution or Q-score), multi_model_rows
    (entries with several models' values, kept as their mean), multi_model_rule, q_definition ('Q_emdb':
    the EMDB's values follow its validation package's rule), downloaded (UTC ISO time); the same is
    saved beside the table as JSON
    """
    base = url or os.environ.get(URL_ENV) or DEFAULT_SEARCH_URL
    full = search_url(base, query, ["emdb_id", "resolution", q_field], rows)
    table, left_out, multi = parse_archive_csv(fetch_text(full, timeout), q_field)
    if table.empty:
        raise QScoreError(f"The EMDB search API returned no entry with both a resolution and a Q-score "
                          f"('{q_field}') for the query {query!r}; nothing was written.")
    path = Path(out) if out is not None else cached_archive_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_table(path, table)
    info = {"path": str(path), "url": full, "entries": int(len(table)), "left_out": left_out,
            "multi_model_rows": multi, "multi_model_rule": MULTI_MODEL_RULE, "q_definition": "Q_emdb",
            "downloaded": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    write_json(path.with_suffix(".json"), {"kind": "qscore-emdb-archive", **info})
    return info


__all__ = ["DEFAULT_SEARCH_URL", "URL_ENV", "DEFAULT_QUERY", "DEFAULT_Q_FIELD", "MULTI_MODEL_RULE", "search_url",
           "fetch_text",
           "parse_archive_csv", "download_archive"]
