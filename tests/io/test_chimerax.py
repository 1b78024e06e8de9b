"""ChimeraX files: the .defattr attribute file (parsed back here, independently of the writer) and the .cxc script."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

import qscore
from conftest import gaussian_map
from qscore.analysis.expected import model_for_sigma
from qscore.analysis.results import ExpectedQ
from qscore.errors import OutputError
from qscore.io.chimerax import atom_spec, chimerax_atoms, palette, write_chimerax, write_cxc


def expected_q(curve, d) -> ExpectedQ:
    """The ExpectedQ of ``curve`` at resolution ``d`` (as the analysis makes it)."""
    return ExpectedQ(source=curve.source, sigma=curve.sigma, **{k: float(v) for k, v in curve.evaluate(d).items()})


#: a ChimeraX atom spec as the grammar (core/commands/_atomspec.peg) reads the plain ones
PLAIN_SPEC = re.compile(r"^/[A-Za-z0-9_']+:-?\d+[A-Za-z]?@[-A-Za-z0-9_'\[\]*?]+$")


def parse_defattr(path: Path) -> tuple:
    """Read a defattr file as ChimeraX does: '#' comments, 'name: value' controls, tab-led data lines."""
    controls, data = {}, []
    for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("\t"):
            assert "attribute" in controls, f"line {n}: data before the attribute control line"
            fields = line[1:].split("\t")
            assert len(fields) == 2, f"line {n} is not <tab>spec<tab>value: {line!r}"
            data.append((fields[0], float(fields[1])))
        else:
            name, value = line.split(": ")  # ChimeraX splits on ': ' exactly once
            controls[name.strip().lower()] = value.strip()
    return controls, data


@pytest.fixture(scope="module")
def cec_result():
    from conftest import CEC, need

    need(CEC)
    return qscore.score(CEC / "390_7cec_A.cif", CEC / "390_emd_30342_A_z4.mrc", sigma=0.4, resolution=3.9)


def test_defattr_names_every_scored_atom_exactly_once(cec_result, tmp_path):
    r = cec_result
    expected = r.analyse().expected
    paths = write_chimerax(r, tmp_path, "7cec", expected=expected)
    controls, data = parse_defattr(Path(paths["defattr"]))
    assert controls == {"attribute": "qscore", "match mode": "1-to-1", "recipient": "atoms"}
    specs = [s for s, _ in data]
    assert len(specs) == len(set(specs)) == int(r.scored.sum()) == 4308
    a = r.atoms
    want = {f"/{c}:{n}{i}@{m}": q for c, n, i, m, q in zip(a.chain, a.res_num, a.ins_code, a.name, r.q, strict=True)}
    assert set(specs) == set(want)
    got = dict(data)
    assert max(abs(got[s] - want[s]) for s in specs) <= 5e-5  # 4 decimals
    assert all(PLAIN_SPEC.match(s) for s in specs)
    assert "/A:26@CD2" in got or "/A:26@CA" in got


def test_cxc_opens_model_and_map_and_colours_on_the_expected_palette(cec_result, tmp_path):
    r = cec_result
    expected = expected_q(model_for_sigma(0.4), 3.9)
    paths = write_chimerax(r, tmp_path, "7cec", expected=expected)
    lines = [ln for ln in Path(paths["cxc"]).read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    assert lines[0] == "close session"
    assert re.fullmatch(r'open "(.+)" maxModels 1', lines[1])
    opened = [re.fullmatch(r'open "(.+?)"(.*)', ln).group(1) for ln in lines if ln.startswith("open ")]
    folder = Path(paths["cxc"]).parent
    for p in opened:  # relative paths are relative to the script's folder (ChimeraX runs scripts from there)
        assert (folder / p).is_file(), p
    assert Path(opened[1]).name == "390_emd_30342_A_z4.mrc"
    assert f'open "{Path(paths["defattr"]).name}" format defattr models #1' in lines
    colour = [ln for ln in lines if ln.startswith("color byattribute")]
    assert len(colour) == 1 and " a:qscore #1 " in colour[0] and " target ac " in colour[0]
    stops = re.search(r"palette (\S+)", colour[0]).group(1).split(":")
    values = [float(s.split(",")[0]) for s in stops]
    assert values == pytest.approx([expected.Q_low95, expected.Q_peak, 1.0], abs=5e-4)
    assert values == sorted(values)


def test_palette_without_resolution_and_refusals(tmp_path):
    spec, text = palette(None)
    assert [float(s.split(",")[0]) for s in spec.split(":")] == [0.0, 0.5, 1.0] and "no resolution" in text
    with pytest.raises(OutputError, match="must increase"):
        palette(ExpectedQ(source="x", sigma=0.4, Q_mean=0.45, Q_peak=0.4, Q_low95=0.5, Q_high95=0.6))
    with pytest.raises(OutputError, match="cannot be written"):
        atom_spec("A", 1, "", "C\tA")
    write_cxc(tmp_path / "x.cxc", model_path=tmp_path / "m.cif", defattr_path=tmp_path / "m.defattr")
    text = (tmp_path / "x.cxc").read_text()
    assert "palette 0,#D55E00:0.5,white:1,#0072B2" in text and "volume" not in text  # no map given: none opened


@pytest.mark.parametrize(("chain", "num", "ins", "name", "spec"), [
    ("A", 26, "", "CD2", "/A:26@CD2"),
    ("B", -3, "", "CA", "/B:-3@CA"),
    ("A", 52, "B", "O5'", "/A:52B@O5'"),
    ("AB", 7, "", "O5*", "/AB:7@O5[*]"),  # * is a wildcard to ChimeraX: escaped as a character class
    ("", 1, "", "CA", ":1@CA"),  # blank chain ID: left out
    ("é", 5, "", "N+", ':5::chain_id="é"@@name="N+"'),  # beyond the grammar: attribute tests
    ("A", 10, "1", "CA", '/A::number=10,insertion_code="1"@CA'),  # a digit insertion code would read as 101
])
def test_atom_spec_follows_chimerax_grammar(chain, num, ins, name, spec):
    assert atom_spec(chain, num, ins, name) == spec


def test_the_residue_specs_of_a_model_are_those_of_residue_spec():
    """The .defattr spells each chain once and writes plain residues directly: the same specs, every kind."""
    from qscore.io.chimerax import _residue_specs, residue_spec
    from qscore.io.models import atoms_from_arrays

    chains = ["A", "B", "A", "AB", "", "é", "A", "x y", "*", " "]
    nums = [26, -3, 52, 7, 1, 5, 10, 3, 4, 8]
    inss = ["", "", "B", "", "", "", "1", "", "?", "z"]
    atoms = dataclasses.replace(atoms_from_arrays(np.zeros((len(chains), 3)), np.array(["C"] * len(chains)),
                                                  chain=np.array(chains), res_num=np.array(nums)),
                                ins_code=np.array(inss))
    rows = np.arange(len(chains))
    assert _residue_specs(atoms, rows) == [residue_spec(c, n, i) for c, n, i in zip(chains, nums, inss, strict=True)]


def _pdb_line(serial, name, alt, res, num, xyz, occ, b, element):
    label = f" {name:<3s}" if len(name) < 4 else name
    return (f"ATOM  {serial:5d} {label}{alt:1s}{res:3s} A{num:4d}    {xyz[0]:8.3f}{xyz[1]:8.3f}{xyz[2]:8.3f}"
            f"{occ:6.2f}{b:6.2f}          {element:>2s}")


def test_alternate_locations_get_one_line_with_the_location_chimerax_shows(tmp_path):
    """ChimeraX keeps an atom's alternate locations as one atom and shows the highest mean occupancy, then the
    lowest mean B, then the first ID; the file gives each atom once, with that location's Q (hydrogens with the
    Q of their heavy atom)."""
    rows = [  # residue 1: B has the higher occupancy; 2: a tie broken by the lower B (B); 3: a full tie (A)
        ("N", "", "ALA", 1, (10.0, 10.0, 10.0), 1.0, 20, "N"),
        ("CA", "", "ALA", 1, (11.4, 10.0, 10.0), 1.0, 20, "C"),
        ("HA", "", "ALA", 1, (11.6, 9.0, 9.8), 1.0, 20, "H"),  # takes the Q of CA
        ("CB", "A", "ALA", 1, (12.0, 11.4, 10.0), 0.4, 20, "C"),
        ("CB", "B", "ALA", 1, (12.0, 10.6, 11.3), 0.6, 20, "C"),
        ("CA", "", "SER", 2, (14.0, 12.0, 12.0), 1.0, 20, "C"),
        ("OG", "A", "SER", 2, (15.3, 12.6, 12.0), 0.5, 30, "O"),
        ("OG", "B", "SER", 2, (15.0, 11.0, 13.0), 0.5, 10, "O"),
        ("CA", "", "GLY", 3, (17.0, 14.0, 14.0), 1.0, 20, "C"),
        ("O", "A", "GLY", 3, (18.2, 14.6, 14.0), 0.5, 20, "O"),
        ("O", "B", "GLY", 3, (18.0, 13.0, 15.0), 0.5, 20, "O"),
        ("CA", "", "LYS", 4, (20.0, 16.0, 16.0), 1.0, 20, "C"),  # no alternate location: not ranked
    ]
    lines = [_pdb_line(i + 1, *r) for i, r in enumerate(rows)] + ["END"]
    model = tmp_path / "alt.pdb"
    model.write_text("\n".join(lines) + "\n")
    coords = np.array([r[4] for r in rows if r[-1] != "H"])
    r = qscore.score(model, gaussian_map(coords, noise=0.02), sigma=0.4)
    chosen = chimerax_atoms(r)
    a = r.atoms
    picked = {(a.res_num[i], a.name[i]): a.altloc[i] for i in chosen["index"]}
    assert picked[(1, "CB")] == "B" and picked[(2, "OG")] == "B" and picked[(3, "O")] == "A"
    assert len(chosen) == 9 and chosen["spec"].is_unique
    from qscore.io.chimerax import _choose_altlocs, _ranked_altlocs

    every = np.arange(len(a))  # residues 1-3 are ranked, 4 kept as it is: the choice of ranking all four
    assert np.array_equal(_choose_altlocs(r.model, every), _ranked_altlocs(r.model, every))
    paths = write_chimerax(r, tmp_path, "alt", expected=None)
    controls, data = parse_defattr(Path(paths["defattr"]))
    got = dict(data)
    cb_b = int(np.flatnonzero((a.name == "CB") & (a.altloc == "B"))[0])
    assert got["/A:1@CB"] == pytest.approx(r.q[cb_b], abs=5e-5)
    assert got["/A:1@HA"] == got["/A:1@CA"]  # hydrogens carry their heavy atom's Q, so the whole model is coloured
    assert "alternate locations" in Path(paths["defattr"]).read_text(encoding="utf-8")


def test_non_ascii_chain_and_folder(tmp_path):
    """UTF-8 throughout: a chain ID beyond the spec grammar and a folder name with accents."""
    folder = tmp_path / "résultats α"
    folder.mkdir()
    coords = np.array([[10.0, 10.0, 10.0], [11.5, 10.0, 10.0], [12.2, 11.3, 10.0]])
    lines = ["data_x", "loop_", "_atom_site.group_PDB", "_atom_site.id", "_atom_site.type_symbol",
             "_atom_site.label_atom_id", "_atom_site.label_comp_id", "_atom_site.label_asym_id",
             "_atom_site.label_seq_id", "_atom_site.Cartn_x", "_atom_site.Cartn_y", "_atom_site.Cartn_z",
             "_atom_site.occupancy", "_atom_site.B_iso_or_equiv", "_atom_site.auth_seq_id",
             "_atom_site.auth_asym_id", "_atom_site.pdbx_PDB_model_num"]
    for i, (name, el, xyz) in enumerate(zip(["N", "CA", "C"], "NCC", coords, strict=True), start=1):
        lines.append(f"ATOM {i} {el} {name} ALA A 1 {xyz[0]:.3f} {xyz[1]:.3f} {xyz[2]:.3f} 1.0 20.0 1 é 1")
    model = folder / "modèle.cif"
    model.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = qscore.score(model, gaussian_map(coords), sigma=0.4)
    paths = write_chimerax(r, folder, "modèle", expected=None)
    controls, data = parse_defattr(Path(paths["defattr"]))
    assert [s for s, _ in data] == [':1::chain_id="é"@N', ':1::chain_id="é"@CA', ':1::chain_id="é"@C']
    assert 'open "modèle.cif" maxModels 1' in Path(paths["cxc"]).read_text(encoding="utf-8")
