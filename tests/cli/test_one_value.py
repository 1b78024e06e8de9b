"""One value per quantity, everywhere (issue 13, item 5): the CLI, the JSON summary, the CSV tables and
the HTML report show the same Q-resolution per chain and the same expected Q, and each names its source.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import APO, need
from qscore.cli import main

STEM = "3ajo_fitted_refined__Q__emd20026_prot"


@pytest.fixture(scope="module")
def apo_run(tmp_path_factory):
    need(APO)
    out = tmp_path_factory.mktemp("apo")
    res = CliRunner().invoke(main, ["score", str(APO / "3ajo_fitted_refined.pdb"), str(APO / "emd20026_prot.mrc"),
                                    "-r", "1.75", "--out", str(out), "--report", "--no-cc"])
    assert res.exit_code == 0, res.output
    page = (out / f"{STEM}_report.html").read_text(encoding="utf-8")
    tables = {m.group(1): json.loads(m.group(2)) for m in re.finditer(
        r'<script type="application/json" class="qs-table-data" data-target="([^"]+)">(.*?)</script>', page)}
    return {"stdout": res.output, "summary": json.loads((out / f"{STEM}_summary.json").read_text()),
            "chains": pd.read_csv(out / f"{STEM}_chains.csv", keep_default_na=False, na_values=[""]),
            "page": page, "tables": tables}


def test_chain_q_resolution_is_one_value_with_one_name(apo_run):
    cli = {(m.group(1), m.group(2)): float(m.group(3)) for m in re.finditer(
        r"^\s+(\S+) (\S+)\s+\d+ res .* Q-res \(2020\) ([\d.]+) Å$", apo_run["stdout"], flags=re.M)}
    assert set(cli) == {("A", "Protein"), ("A", "MG"), ("A", "Water")}
    csv = {(r.chain, r.type): r.Q_resolution_2020 for r in apo_run["chains"].itertuples()}
    js = {(r["chain"], r["type"]): r["Q_resolution_2020"] for r in apo_run["summary"]["analysis"]["chains"]}
    spec = apo_run["tables"]["table-chains"]
    keys = [c["key"] for c in spec["columns"]]
    labels = {c["key"]: c["label"] for c in spec["columns"]}
    assert labels["Q_resolution_2020"] == "Q-resolution 2020 (Å)"
    html = {(row[keys.index("chain")], row[keys.index("type")]): row[keys.index("Q_resolution_2020")]
            for row in spec["rows"]}
    for key, value in cli.items():
        assert csv[key] == pytest.approx(value, abs=0.005) and js[key] == pytest.approx(value, abs=0.005)
        assert html[key] == pytest.approx(value, abs=0.005)
    assert cli[("A", "MG")] == pytest.approx(2.70, abs=0.005) and cli[("A", "Water")] == pytest.approx(2.20, abs=0.005)


def test_expected_q_names_its_source_everywhere(apo_run):
    e = apo_run["summary"]["analysis"]["expected"]
    assert e["source"].startswith("Pintilie et al. 2025")
    line = next(ln for ln in apo_run["stdout"].splitlines() if ln.startswith("Expected Q at"))
    assert f"({e['source']})" in line and f"Q_mean {e['Q_mean']:.4f}" in line and f"peak {e['Q_peak']:.4f}" in line
    page = apo_run["page"]
    assert f"from {e['source']}" in page and f"{e['Q_peak']:.3f}" in page and f"Q_mean {e['Q_mean']:.3f}" in page
    assert "Expected (2020 relation)" in page
    qr = apo_run["summary"]["analysis"]["q_resolution"]
    assert qr["curve"] == e["source"] and f"({e['source']}, inverted)" in apo_run["stdout"]
    # the entry curve's values are blank where it does not apply (waters, ions); the 2020 value is theirs
    chains = apo_run["chains"].set_index("type")
    for name in ("MG", "Water"):
        assert pd.isna(chains.loc[name, "Q_expected"]) and pd.isna(chains.loc[name, "Q_low95"])
        assert chains.loc[name, "Q_expected_2020"] > 0 and "none:" in chains.loc[name, "Q_flag_reference"]
    assert chains.loc["Protein", "Q_expected"] == pytest.approx(e["Q_mean"], abs=1e-5)
    assert e["source"] in chains.loc["Protein", "Q_flag_reference"]
