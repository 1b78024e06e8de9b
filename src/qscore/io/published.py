"""Published per-residue Q-scores: a wwPDB validation XML or an EMDB validation JSON (``qscore compare --published``).

wwPDB validation XML (``<id>_validation.xml``, schema ``wwpdb_validation_v00x.xsd``)
    one ``ModelledSubgroup`` element per residue, with ``chain``, ``resnum``, ``icode``, ``resname``,
    ``model`` and, for EM entries, ``Q_score``.  Only the first model's residues are read; a residue
    listed once per alternate location is read once.
EMDB validation JSON (the ``qscore`` section the EMDB's validation package writes, ``<map>_qscore.json``)
    ``{"qscore": {"0": {"name": MODEL, "data": {"residue": ["A:12 ALA", …], "qscore": [0.512, …]}}, …}}``;
    with several models, the one named like the scored model is read (or the only one).

The values' rounding is the file's: the most decimals any value is written with.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from ..errors import InputFileError
from ..types import PublishedQ
from .files import check_input_path

__all__ = ["read_published", "PUBLISHED_KINDS"]

PUBLISHED_KINDS = ("wwPDB validation XML", "EMDB validation JSON")
_LABEL = re.compile(r"^(?P<chain>.+):(?P<num>-?\d+)(?P<ins>[A-Za-z]?) (?P<name>\S+)$")
_COLUMNS = ["chain", "res_num", "ins_code", "res_name", "Q_published"]


def _decimals(text: str) -> int:
    """Decimals a number is written with ('0.512' → 3, '1e-3' → 3, '1' → 0), at most 6."""
    t = text.strip().lower()
    mantissa, _, exponent = t.partition("e")
    places = len(mantissa.partition(".")[2])
    return int(min(max(places - (int(exponent) if exponent else 0), 0), 6))


def _number(text: str, where: str, path: Path) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = float("nan")
    if not np.isfinite(value) or not -1.0 <= value <= 1.0:
        raise InputFileError(f"Published file '{path}': {where} has Q-score {text!r}, not a number in [-1, 1]; "
                             "give the validation report as published.")
    return value


def _table(rows: list, decimals: list) -> pd.DataFrame:
    t = pd.DataFrame(rows, columns=_COLUMNS)
    t["res_num"] = t["res_num"].astype(np.int64)
    t["decimals"] = max(decimals) if decimals else 3
    return t


def _entry_ids(attrib: dict) -> str | None:
    ids = [v for k, v in attrib.items() if k.lower().replace("-", "").replace("_", "") in ("pdbid", "emdbid") and v]
    return " ".join(ids) or None


def _read_xml(source, path: Path) -> PublishedQ:
    rows, decimals, seen = [], [], set()
    entry = first_model = None
    try:
        for _, el in ElementTree.iterparse(source, events=("end",)):
            if el.tag == "Entry" and entry is None:
                entry = _entry_ids(el.attrib)
            elif el.tag == "ModelledSubgroup" and "Q_score" in el.attrib:
                a = el.attrib
                model = a.get("model", "1")
                first_model = model if first_model is None else first_model
                try:
                    key = (a["chain"], int(a["resnum"]), a.get("icode", "").strip())
                except (KeyError, ValueError):
                    raise InputFileError(f"Published file '{path}': a ModelledSubgroup has no usable chain and "
                                         f"resnum ({dict(a)}); give the validation XML as published.") from None
                if model == first_model and key not in seen:
                    seen.add(key)
                    text = a["Q_score"]
                    rows.append((*key, a.get("resname", ""), _number(text, f"residue {key[0]}:{key[1]}{key[2]}",
                                                                     path)))
                    decimals.append(_decimals(text))
            if el.tag in ("ModelledSubgroup", "Entry"):
                el.clear()
    except ElementTree.ParseError as exc:
        raise InputFileError(f"Published file '{path}' is not well-formed XML ({exc}); give the wwPDB validation "
                             "XML or the EMDB validation JSON.") from None
    if not rows:
        raise InputFileError(f"Published file '{path}' has no per-residue Q-scores (no ModelledSubgroup element with "
                             "a Q_score attribute): only validation reports of EM entries carry them.")
    return PublishedQ(residues=_table(rows, decimals), source=str(path), kind=PUBLISHED_KINDS[0],
                      model_name=None if first_model is None else f"model {first_model}", entry=entry)


def _choose_model(models: dict, path: Path, model_name) -> tuple:
    if len(models) == 1:
        return next(iter(models.items()))
    names = {k: str(v.get("name", "")) for k, v in models.items()}
    if model_name:
        want = Path(str(model_name)).name.lower()
        stem = want.split(".")[0]
        for k, name in names.items():
            if name.lower() == want or name.lower().split(".")[0] == stem:
                return k, models[k]
    raise InputFileError(f"Published file '{path}' holds {len(models)} models ({', '.join(names.values())}) and "
                         f"none is named like '{model_name}'; give the JSON of this model.")


def _read_json(path: Path, text: str, model_name) -> PublishedQ:
    try:
        doc = json.loads(text, parse_float=lambda s: (float(s), s))
    except json.JSONDecodeError as exc:
        raise InputFileError(f"Published file '{path}' is not valid JSON ({exc}); give the wwPDB validation XML or "
                             "the EMDB validation JSON.") from None
    section = doc.get("qscore") if isinstance(doc, dict) else None
    models = {k: v for k, v in section.items() if isinstance(v, dict) and "data" in v} if isinstance(section, dict) \
        else {}
    if not models:
        raise InputFileError(f"Published file '{path}' has no 'qscore' section with per-model data, as the EMDB's "
                             "validation package writes it; give <map>_qscore.json or the entry's validation JSON.")
    key, chosen = _choose_model(models, path, model_name)
    data = chosen["data"]
    labels, values = data.get("residue"), data.get("qscore")
    if not isinstance(labels, list) or not isinstance(values, list) or len(labels) != len(values) or not labels:
        raise InputFileError(f"Published file '{path}': model {key} needs 'residue' and 'qscore' lists of the same "
                             "length; give the JSON as the validation package wrote it.")
    rows, decimals = [], []
    for label, value in zip(labels, values, strict=True):
        m = _LABEL.match(str(label))
        if m is None:
            raise InputFileError(f"Published file '{path}': residue label {label!r} is not 'CHAIN:NUMBER NAME' "
                                 "(e.g. 'A:12 ALA'); give the JSON as the validation package wrote it.")
        text = value[1] if isinstance(value, tuple) else str(value)
        rows.append((m["chain"], int(m["num"]), m["ins"], m["name"], _number(text, f"residue {label}", path)))
        decimals.append(_decimals(text))
    return PublishedQ(residues=_table(rows, decimals), source=str(path), kind=PUBLISHED_KINDS[1],
                      model_name=str(chosen.get("name") or f"model {key}"), entry=None)


def read_published(path, *, model_name=None) -> PublishedQ:
    """Read published per-residue Q-scores (see the module docstring for the two formats).

    Parameters
    ----------
    path : str or Path — a wwPDB validation XML or an EMDB validation JSON (either optionally ``.gz``)
    model_name : str, optional — with a JSON of several models, the scored model's file name chooses one

    Returns
    -------
    PublishedQ

    Raises
    ------
    InputFileError — a missing or unreadable file, neither format, no Q-scores, values that are not Q
    """
    p = check_input_path(path, (".xml", ".json"), "Published validation")
    raw = p.read_bytes()
    if p.name.lower().endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InputFileError(f"Published file '{p}' is not a readable gzip file ({exc}).") from None
    head = raw[:200].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return _read_xml(io.BytesIO(raw), p)
    if head.startswith(b"{"):
        return _read_json(p, raw.decode("utf-8", errors="replace"), model_name)
    raise InputFileError(f"Published file '{p}' is neither XML nor JSON; give the wwPDB validation XML "
                         "(<id>_validation.xml) or the EMDB validation JSON (<map>_qscore.json).")
