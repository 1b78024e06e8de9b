"""Read per-atom Q-scores back from a file MapQ or qscore wrote: an mmCIF with a Q column of either
MapQ layout (``_atom_site.Q-score``, MapQ 2.9.7 and qscore; ``_atom_site.Q_score``, MapQ 2021), or a
PDB file with Q in the B-factor column (MapQ's convention for PDB models).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputFileError
from .files import check_input_path
from .model_text import read_bytes
from .models import MODEL_SUFFIXES, model_format
from .writers import Q_COLUMNS

__all__ = ["read_q_file", "Q_FILE_COLUMNS"]

#: the columns of :func:`read_q_file`'s table
Q_FILE_COLUMNS = ("model_num", "chain", "res_num", "ins_code", "res_name", "atom_name", "altloc", "x", "y", "z",
                  "Q")


def _blank(values) -> list:
    return ["" if v in ("?", ".") else v for v in values]


def read_q_file(path) -> pd.DataFrame:
    """Every atom row of a Q-score file, in file order, with its Q (NaN where the file has ``?``).

    Parameters
    ----------
    path : str or Path — ``<model>__Q__<map>.cif`` (either layout) or ``.pdb``

    Returns
    -------
    pandas.DataFrame — :data:`Q_FILE_COLUMNS`; ``attrs['q_column']`` names the column read
    ('Q-score', 'Q_score' or 'B_iso_or_equiv')

    Raises
    ------
    InputFileError — unreadable, or an mmCIF without a Q column of either layout
    """
    import gemmi

    p = check_input_path(path, MODEL_SUFFIXES, "Q-score file")
    try:
        if model_format(p) == "pdb":
            st = gemmi.read_pdb_string(read_bytes(p))
            st.setup_entities()
            block = st.make_mmcif_document()[0]
            q_column = "B_iso_or_equiv"
        else:
            block = gemmi.cif.read_string(read_bytes(p))[0]
            tags = set(block.find_mmcif_category("_atom_site.").tags)
            q_column = next((c for c in Q_COLUMNS if f"_atom_site.{c}" in tags), None)
            if q_column is None:
                raise InputFileError(f"Q-score file '{p}' has no Q column (_atom_site.Q-score or _atom_site.Q_score); "
                                     "give the <model>__Q__<map>.cif that MapQ or qscore wrote.")
    except (RuntimeError, ValueError, IndexError) as exc:
        raise InputFileError(f"Q-score file '{p}' could not be read ({exc}); check the file.") from None

    def column(*tags, default=""):
        for tag in tags:
            values = block.find_values(f"_atom_site.{tag}")
            if values:
                return [gemmi.cif.as_string(v) for v in values]
        return [default] * len(block.find_values("_atom_site.Cartn_x"))

    q_text = column(q_column, default="?")
    table = pd.DataFrame({
        "model_num": column("pdbx_PDB_model_num", default="1"),
        "chain": _blank(column("auth_asym_id", "label_asym_id")),
        "res_num": pd.to_numeric(pd.Series(column("auth_seq_id", "label_seq_id")), errors="coerce"),
        "ins_code": _blank(column("pdbx_PDB_ins_code")),
        "res_name": column("label_comp_id", "auth_comp_id"),
        "atom_name": column("label_atom_id", "auth_atom_id"),
        "altloc": _blank(column("label_alt_id")),
        **{c: pd.to_numeric(pd.Series(column(f"Cartn_{c}")), errors="coerce") for c in "xyz"},
        "Q": pd.to_numeric(pd.Series(q_text).replace({"?": np.nan, ".": np.nan}), errors="coerce"),
    }, columns=list(Q_FILE_COLUMNS))
    table.attrs["q_column"] = q_column
    return table
