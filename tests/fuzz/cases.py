"""Malformed inputs made from small valid ones, as a careless user or a broken pipeline makes them.

:func:`build_cases` writes the files of every case into a folder and returns the cases: the command
line to run and what the case damaged.  The valid inputs are the demo helix (a PDB file and its
mmCIF form) and its simulated map; every damage is deterministic (seeded), so a finding can be
reproduced from the case's name alone.
"""

from __future__ import annotations

import gzip
import random
import struct
from dataclasses import dataclass
from pathlib import Path

#: values written into MRC header words: as int32 where the word is an integer, as float32 otherwise
INT_VALUES = (0, -1, 1, 3, 2**31 - 1, -(2**31), 100000)
FLOAT_VALUES = (0.0, -1.0, float("nan"), float("inf"), float("-inf"), 1e30, 1e-30, -1e-3, 3.6e28)
#: the header words (1-based) that are integers; the others of words 1-56 are floats or text
INT_WORDS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 17, 18, 19, 23, 24, 28, 29, 53, 54, 56)
FLOAT_WORDS = (11, 12, 13, 14, 15, 16, 20, 21, 22, 25, 50, 51, 52, 55)
#: junk put in a model's fields
JUNK = ("?", ".", "nan", "inf", "-inf", "1e30", "1e300", "99999.999", "abc", "", "\xff", "A" * 40, "-0", "1,5")


@dataclass
class Case:
    """One run: its name (what was damaged) and its command line (paths relative to the cases' folder)."""

    name: str
    args: list


def _mrc_variants(data: bytes, rng: random.Random) -> list:
    """(name, bytes) of damaged maps."""
    out = []
    for cut in (0, 10, 100, 1023, 1024, 1025, len(data) // 2, len(data) - 1):
        out.append((f"map cut at byte {cut}", data[:cut]))
    for word in INT_WORDS:
        for v in INT_VALUES:
            out.append((f"map word {word} = {v}", data[:4 * (word - 1)] + struct.pack("<i", v) + data[4 * word:]))
    for word in FLOAT_WORDS:
        for v in FLOAT_VALUES:
            out.append((f"map word {word} = {v}", data[:4 * (word - 1)] + struct.pack("<f", v) + data[4 * word:]))
    n_voxels = (len(data) - 1024) // 4
    for what, v in (("NaN", float("nan")), ("+Inf", float("inf")), ("3e38", 3e38)):
        k = 1024 + 4 * rng.randrange(n_voxels)
        out.append((f"map voxel {what}", data[:k] + struct.pack("<f", v) + data[k + 4:]))
    out.append(("map all zero", data[:1024] + bytes(len(data) - 1024)))
    out.append(("map big-endian stamp on little-endian data", data[:212] + b"\x11\x11\x00\x00" + data[216:]))
    for k in range(6):
        b = bytearray(data)
        for _ in range(8):
            b[rng.randrange(1024)] = rng.randrange(256)
        out.append((f"map header with 8 random bytes #{k}", bytes(b)))
    out.append(("map with 1 MB of junk appended", data + bytes(rng.randrange(256) for _ in range(1 << 12)) * 256))
    return out


def _gz_variants(data: bytes, what: str) -> list:
    packed = gzip.compress(data)
    bad_crc = bytearray(packed)
    bad_crc[-8] ^= 0xFF
    return [(f"{what} gzip whole", packed), (f"{what} gzip without trailer", packed[:-8]),
            (f"{what} gzip cut in half", packed[:len(packed) // 2]), (f"{what} gzip bad CRC", bytes(bad_crc)),
            (f"{what} gzip with junk after", packed + b"junk"), (f"{what} gzip of nothing", gzip.compress(b""))]


def _pdb_variants(text: str, rng: random.Random) -> list:
    """(name, bytes) of damaged PDB files."""
    lines = text.splitlines()
    atoms = [i for i, line in enumerate(lines) if line.startswith(("ATOM", "HETATM"))]
    out = []
    fields = {"x": (30, 38), "y": (38, 46), "z": (46, 54), "name": (12, 16), "resname": (17, 20), "chain": (21, 22),
              "resseq": (22, 26), "occupancy": (54, 60), "B": (60, 66), "element": (76, 78)}
    for fname, (a, b) in fields.items():
        for junk in rng.sample(JUNK, 5):
            i = rng.choice(atoms)
            new = list(lines)
            new[i] = (new[i].ljust(80)[:a] + junk[:b - a].rjust(b - a) + new[i].ljust(80)[b:]).rstrip()
            out.append((f"pdb {fname} of line {i + 1} = {junk!r}", new))
    for far in (1e4, 99999.0, -9999.999):
        i = rng.choice(atoms)
        new = list(lines)
        new[i] = new[i][:30] + f"{far:8.3f}"[:8] + new[i][38:]
        out.append((f"pdb atom {i + 1} at x = {far}", new))
    i = rng.choice(atoms)
    atom_set = set(atoms)
    out += [("pdb one ATOM line deleted", lines[:i] + lines[i + 1:]),
            ("pdb one ATOM line twice", lines[:i + 1] + lines[i:]),
            ("pdb ATOM lines only", [lines[k] for k in atoms]),
            ("pdb no ATOM lines", [line for k, line in enumerate(lines) if k not in atom_set]),
            ("pdb every atom hydrogen", [line[:76] + " H" if k in atom_set else line for k, line in enumerate(lines)]),
            ("pdb one atom", [lines[atoms[0]], "END"]),
            ("pdb tabs for spaces", [line.replace(" ", "\t") for line in lines]),
            ("pdb lines cut at 54", [line[:54] for line in lines]),
            ("pdb lines cut at 20", [line[:20] for line in lines]),
            ("pdb empty first MODEL", ["MODEL        1", "ENDMDL", "MODEL        2", *[lines[k] for k in atoms],
                                       "ENDMDL"]),
            ("pdb two MODELs", ["MODEL        1", *[lines[k] for k in atoms], "ENDMDL", "MODEL        2",
                                *[lines[k] for k in atoms], "ENDMDL"])]
    data = [(n, ("\n".join(v) + "\n").encode()) for n, v in out]
    raw = text.encode()
    data += [("pdb empty file", b""), ("pdb CR line ends", raw.replace(b"\n", b"\r")),
             ("pdb CRLF line ends", raw.replace(b"\n", b"\r\n")), ("pdb UTF-8 BOM", b"\xef\xbb\xbf" + raw),
             ("pdb UTF-16", text.encode("utf-16")), ("pdb binary junk", bytes(rng.randrange(256) for _ in range(3000))),
             ("pdb latin-1 byte in a name", raw.replace(b" CA ", b" C\xe9 ", 1))]
    for cut in sorted(rng.sample(range(1, len(raw)), 4)):
        data.append((f"pdb cut at byte {cut}", raw[:cut]))
    return data


def _cif_variants(text: str, rng: random.Random) -> list:
    """(name, bytes) of damaged mmCIF files."""
    lines = text.splitlines()
    tags = [i for i, line in enumerate(lines) if line.startswith("_atom_site.")]
    first = tags[-1] + 1
    rows = [i for i in range(first, len(lines)) if lines[i].startswith(("ATOM", "HETATM"))]
    names = [lines[i].split()[0] for i in tags]
    out = []
    for tag in ("Cartn_x", "Cartn_z", "type_symbol", "label_atom_id", "auth_seq_id", "label_seq_id",
                "B_iso_or_equiv", "pdbx_PDB_model_num", "group_PDB", "label_comp_id", "auth_asym_id"):
        if f"_atom_site.{tag}" not in names:
            continue
        k = names.index(f"_atom_site.{tag}")
        out.append((f"cif tag {tag} line removed", lines[:tags[k]] + lines[tags[k] + 1:]))
        col = [" ".join(lines[i].split()[:k] + lines[i].split()[k + 1:]) if i in set(rows) else lines[i]
               for i in range(len(lines))]
        out.append((f"cif column {tag} removed with its tag", col[:tags[k]] + col[tags[k] + 1:]))
        for junk in rng.sample(("?", ".", "nan", "1e30", "abc", "-inf", "'a b'", '"x"', "'", "#"), 3):
            i = rng.choice(rows)
            row = lines[i].split()
            row[k] = junk
            new = list(lines)
            new[i] = " ".join(row)
            out.append((f"cif {tag} of row {i - first + 1} = {junk!r}", new))
    i, j = rng.sample(rows, 2)
    short, long = lines[i].split()[:-2], [*lines[j].split(), "X", "Y"]
    out += [("cif row short by 2 then long by 2", [(" ".join(short) if n == i else " ".join(long) if n == j else line)
                                                    for n, line in enumerate(lines)]),
            ("cif row split over two lines", lines[:i] + [" ".join(lines[i].split()[:5]),
                                                          " ".join(lines[i].split()[5:])] + lines[i + 1:]),
            ("cif one row deleted", lines[:i] + lines[i + 1:]),
            ("cif comment inside the loop", lines[:i] + ["# a comment"] + lines[i:]),
            ("cif tag twice", lines[:tags[0]] + [lines[tags[0]]] + lines[tags[0]:]),
            ("cif no data_ line", [line for line in lines if not line.startswith("data_")]),
            ("cif two data blocks", lines + ["data_second"] + lines[1:]),
            ("cif rows only", [lines[k] for k in rows]),
            ("cif loop without rows", lines[:first]),
            ("cif text field in a row", lines[:i] + [" ".join(lines[i].split()[:-1]), ";text", ";"] + lines[i + 1:]),
            ("cif unclosed quote in a row", lines[:i] + [lines[i].replace(" ", " 'open ", 1)] + lines[i + 1:])]
    data = [(n, ("\n".join(v) + "\n").encode()) for n, v in out]
    raw = text.encode()
    data += [("cif empty file", b""), ("cif CR line ends", raw.replace(b"\n", b"\r")),
             ("cif UTF-8 BOM", b"\xef\xbb\xbf" + raw), ("cif NUL bytes", raw.replace(b" ", b"\0", 50))]
    for cut in sorted(rng.sample(range(1, len(raw)), 4)):
        data.append((f"cif cut at byte {cut}", raw[:cut]))
    return data


#: options with values that must be refused by name or run within bounds
OPTION_VALUES = {
    "--sigma": ("0", "-1", "nan", "inf", "1e9", "1e-9", "0.4"), "--resolution": ("0", "-3", "nan", "1e6", "0.01"),
    "--shell-step": ("0", "1e-7", "nan", "100"), "--max-radius": ("0", "-1", "1e6", "inf"),
    "--num-points": ("0", "-1", "1000000000", "1"), "--threads": ("0", "-1", "100000"),
}


def build_cases(folder, *, seed: int = 0) -> list:
    """Write every case's files into ``folder`` and return the cases (:class:`Case`).

    Parameters
    ----------
    folder : str or Path — an empty folder
    seed : int — of the random damages

    Returns
    -------
    list of Case — each ``args`` a ``qscore`` command line, files given relative to ``folder``
    """
    import gemmi

    from qscore.pipeline.demo import build_demo

    folder = Path(folder)
    rng = random.Random(seed)
    demo = build_demo(folder / "valid", n_residues=8)
    pdb_text = Path(demo["model"]).read_text()
    cif_text = gemmi.read_structure(str(demo["model"])).make_mmcif_document().as_string()
    (folder / "valid" / "demo_helix.cif").write_text(cif_text)
    map_bytes = Path(demo["map"]).read_bytes()
    model, mp = "valid/demo_helix.pdb", "valid/demo_map.mrc"
    res = ("-r", f"{demo['resolution']:g}")
    cases = [Case("valid pdb", ["score", model, mp, *res]), Case("valid cif", ["score", "valid/demo_helix.cif", mp])]
    damaged = ([(n, b, "map") for n, b in _mrc_variants(map_bytes, rng)]
               + [(n, b, "map.gz") for n, b in _gz_variants(map_bytes, "map")]
               + [(n, b, "pdb") for n, b in _pdb_variants(pdb_text, rng)]
               + [(n, b, "pdb.gz") for n, b in _gz_variants(pdb_text.encode(), "pdb")]
               + [(n, b, "cif") for n, b in _cif_variants(cif_text, rng)])
    for k, (name, data, kind) in enumerate(damaged):
        file = f"case{k:04d}." + {"map": "mrc", "map.gz": "mrc.gz"}.get(kind, kind)
        (folder / file).write_bytes(data)
        inputs = [model, file] if kind.startswith("map") else [file, mp]
        # every third case also computes the map–model CC; some run another command
        command = ["score", *inputs, *res] if k % 3 == 0 else ["score", *inputs]
        if k % 11 == 5:
            command = ["cc", *inputs, *res]
        elif k % 13 == 7:
            command = ["profile", *inputs, "--atoms", "*:*:CA"]
        cases.append(Case(name, command))
    for option, values in OPTION_VALUES.items():
        for v in values:
            cases.append(Case(f"option {option} {v}", ["score", model, mp, option, v]))
    return cases
