"""Expected Q at a resolution (SPEC §5): the curves, their bounds, Q-resolution, flags; bad inputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qscore
from conftest import assert_cli_refused, run_score
from qscore.analysis.expected import (
    EMDB_SIGMA_04,
    MAPQ_SIGMA_06,
    ExpectedModel,
    check_resolution,
    flag_q,
    linear_expected_q,
    linear_q_resolution,
    model_for_sigma,
    q_resolution,
)
from qscore.analysis.groups import add_expected
from qscore.errors import InputFileError, ParameterError
from qscore.io.curves import read_expected_model, write_expected_model

# hand-computed from SPEC §5: Q_mean(d) = −0.0016 d³ + 0.0434 d² − 0.3956 d + 1.3366
#   d=2: −0.0128 + 0.1736 − 0.7912 + 1.3366 = 0.7062
#   d=3: −0.0432 + 0.3906 − 1.1868 + 1.3366 = 0.4972
#   d=4: −0.1024 + 0.6944 − 1.5824 + 1.3366 = 0.3462
SIGMA_04 = {2.0: 0.7062, 3.0: 0.4972, 4.0: 0.3462}
#   sigma 0.6 at 3.9 Å: −0.11308609 + 0.76031045 − 1.76043878 + 1.53618607 = 0.42297166
SIGMA_06 = {3.9: 0.42297166}


@pytest.mark.parametrize("d,q", SIGMA_04.items())
def test_sigma_04_curve_and_bounds(d, q):
    e = EMDB_SIGMA_04.evaluate(d)
    assert e["Q_mean"] == pytest.approx(q, abs=1e-12)
    assert e["Q_peak"] == pytest.approx(q + 0.024) and e["Q_low95"] == pytest.approx(q - 0.126)
    assert e["Q_high95"] == pytest.approx(q + 0.109)


def test_sigma_06_curve_and_bounds():
    e = model_for_sigma(0.6).evaluate(3.9)
    assert e["Q_mean"] == pytest.approx(SIGMA_06[3.9], abs=1e-7)
    assert e["Q_low95"] == pytest.approx(SIGMA_06[3.9] - 0.1) and e["Q_high95"] == pytest.approx(SIGMA_06[3.9] + 0.1)
    assert model_for_sigma(0.4) is EMDB_SIGMA_04


def test_linear_2020_relations():
    assert linear_expected_q(3.9, "protein", 0.6) == pytest.approx(-0.1775 * 3.9 + 1.1192)
    assert linear_expected_q(3.0, "protein", 0.4) == pytest.approx(-0.1866 * 3 + 1.1242)
    assert linear_expected_q(3.0, "nucleic", 0.6) == pytest.approx(0.5842)  # −0.4131 + 0.9973
    assert linear_expected_q(3.0, "nucleic", 0.4) == pytest.approx(0.5041)  # −0.4395 + 0.9436
    assert linear_expected_q(2.0, "ion", 0.4) == pytest.approx(0.8589)  # −0.2206 + 1.0795
    assert linear_expected_q(2.0, "water", 0.6) == pytest.approx(0.8211)  # −0.1790 + 1.0001
    assert np.isnan(linear_expected_q(2.0, "ligand", 0.6)) and np.isnan(linear_expected_q(2.0, "protein", 0.5))
    # MapQ's "Est.Res." for 7CEC chain A: Q 0.457 → 3.73 Å
    assert linear_q_resolution(0.457, "protein", 0.6) == pytest.approx(3.73, abs=0.005)


@pytest.mark.parametrize("model", [EMDB_SIGMA_04, MAPQ_SIGMA_06])
@pytest.mark.parametrize("d", [1.2, 1.5, 2.0, 3.0, 4.5, 8.0, 9.9])
def test_q_resolution_inverts_the_curve(model, d):
    value, note = q_resolution(float(model.q_mean(d)), model)
    assert note is None and value == pytest.approx(d, abs=1e-6)


@pytest.mark.parametrize("model", [EMDB_SIGMA_04, MAPQ_SIGMA_06])
@pytest.mark.parametrize("d", [0.5, 0.8, 10.5, 15.0])
def test_q_resolution_is_never_extrapolated_beyond_the_fitted_range(model, d):
    value, note = q_resolution(float(model.q_mean(d)), model)
    assert value is None and "1.15–10 Å" in note


def test_q_resolution_beyond_the_curve_gives_no_number():
    value, note = q_resolution(1.3, EMDB_SIGMA_04)
    assert value is None and "above the curve" in note and "1.15" in note
    value, note = q_resolution(-3.0, EMDB_SIGMA_04)
    assert value is None and "below the curve" in note
    bowl = ExpectedModel(coefficients=(0.01, -0.1, 0.5), peak=0, low=-0.1, high=0.1, sigma=0.4, source="bowl")
    value, note = q_resolution(0.3, bowl)  # 0.01 d² − 0.1 d + 0.5 = 0.3 at d = 2.76 and 7.24
    assert value is None and "several" in note
    assert q_resolution(float("nan"), EMDB_SIGMA_04)[0] is None


def test_flags_and_expected_columns():
    assert list(flag_q([0.1, 0.5, 0.9, np.nan], 0.3, 0.6)) == ["below", "within", "above", ""]
    import pandas as pd

    t = pd.DataFrame({"Q": [0.2, 0.5, 0.7, 0.5], "mol_type": ["protein", "nucleic", "ligand", "water"]})
    out = add_expected(t, 3.0, EMDB_SIGMA_04)
    assert list(out["Q_flag"]) == ["below", "within", "above", ""]  # a water is not judged on the entry band
    assert out["Q_flag_reference"].iloc[0] == "Pintilie et al. 2025, cubic fit, sigma 0.4, 95% band at 3 Å"
    assert out["Q_flag_reference"].iloc[3].startswith("none: waters and ions have no 95% band")
    assert np.isnan(out["Q_low95"].iloc[3]) and np.isfinite(out["Q_expected_2020"].iloc[3])
    assert out["Q_expected"].iloc[0] == pytest.approx(0.4972)
    assert out["Q_expected_2020"].iloc[0] == pytest.approx(-0.1866 * 3 + 1.1242)
    assert np.isnan(out["Q_expected_2020"].iloc[2])


@settings(max_examples=80, deadline=None)
@given(st.floats(1.2, 9.9), st.lists(st.tuples(st.sampled_from(["protein", "nucleic", "ligand", "water", "ion"]),
                                                st.floats(-0.3, 1.0)), min_size=1, max_size=12))
def test_no_flag_contradicts_the_values_beside_it(d, rows):
    """Over resolutions and molecule types: 'below' only under the band shown in the same row, 'above' only
    over it, and rows without a band (waters, ions) never flagged; each row names its reference."""
    import pandas as pd

    t = pd.DataFrame({"Q": [q for _, q in rows], "mol_type": [m for m, _ in rows]})
    out = add_expected(t, d, EMDB_SIGMA_04)
    for _, r in out.iterrows():
        if r["Q_flag"] == "below":
            assert r["Q"] < r["Q_low95"]
        elif r["Q_flag"] == "above":
            assert r["Q"] > r["Q_high95"]
        elif r["Q_flag"] == "within":
            assert r["Q_low95"] <= r["Q"] <= r["Q_high95"]
        if r["mol_type"] in ("water", "ion"):
            assert r["Q_flag"] == "" and r["Q_flag_reference"].startswith("none:")
        else:
            assert r["Q_flag_reference"].startswith(EMDB_SIGMA_04.source)


@pytest.mark.parametrize("d", [0, -1.0, 50.5, float("nan"), float("inf")])
def test_bad_resolutions_are_refused(d):
    with pytest.raises(ParameterError, match="outside"):
        check_resolution(d)
    with pytest.raises(ParameterError):
        EMDB_SIGMA_04.evaluate(d)


def test_sigma_without_a_curve_is_refused():
    with pytest.raises(ParameterError, match="No expected-Q curve exists for sigma=0.5"):
        model_for_sigma(0.5)


def test_expected_model_round_trip(tmp_path):
    m = ExpectedModel(coefficients=(-0.2, 1.2), peak=0.01, low=-0.1, high=0.1, sigma=0.4, source="mine")
    write_expected_model(tmp_path / "m.json", m)
    assert read_expected_model(tmp_path / "m.json") == m


@pytest.mark.parametrize("d", ["0", "-2", "50.01", "80", "nan"])
def test_cli_refuses_resolutions_outside_0_50(good, d):
    assert_cli_refused(run_score(good, "--resolution", d), good, "resolution", "(0, 50]")


def test_cli_refuses_a_sigma_without_a_curve(good):
    assert_cli_refused(run_score(good, "--resolution", "3", "--sigma", "0.5"), good, "no expected-q curve", "sigma 0.5",
                       "--expected-model")
    assert run_score(good, "--sigma", "0.5").exit_code == 0  # without a resolution no curve is needed


def test_cli_expected_model_file(good):
    bad = good["dir"] / "nope.json"
    assert_cli_refused(run_score(good, "-r", "3", "--expected-model", bad), good, "nope.json", "does not exist")
    other = ExpectedModel(coefficients=(-0.1, 0.9), peak=0.0, low=-0.05, high=0.05, sigma=0.6, source="sigma06 fit")
    write_expected_model(good["dir"] / "s06.json", other)
    res = run_score(good, "-r", "3", "--expected-model", good["dir"] / "s06.json")
    assert_cli_refused(res, good, "fitted for sigma 0.6",
                       "computed with --sigma 0.4", "use --sigma 0.6")
    mine = ExpectedModel(coefficients=(-0.1, 0.9), peak=0.0, low=-0.05, high=0.05, sigma=0.4, source="my fit")
    write_expected_model(good["dir"] / "mine.json", mine)
    res = run_score(good, "-r", "3", "--expected-model", good["dir"] / "mine.json")
    assert res.exit_code == 0, res.output
    summary = json.loads((good["out"] / "model__Q__map_summary.json").read_text())
    e = summary["analysis"]["expected"]
    assert e["source"] == "my fit" and e["Q_mean"] == pytest.approx(0.6)
    assert summary["analysis"]["q_resolution"]["curve"] == "my fit"


def test_api_refuses_mismatched_expected_model(good):
    r = qscore.score(good["model"], good["map"], sigma=0.4, resolution=3.0)
    other = ExpectedModel(coefficients=(-0.1, 0.9), peak=0.0, low=-0.05, high=0.05, sigma=0.6, source="x")
    with pytest.raises(ParameterError, match="sigma 0.6"):
        r.analyse(qscore.AnalysisSettings(curve=other))
    with pytest.raises(ParameterError, match="sigma 0.6"):
        qscore.analysis_settings(0.4, 3.0, expected_model=other)
    with pytest.raises(InputFileError):
        qscore.analysis_settings(0.4, 3.0, expected_model=good["dir"] / "missing.json")


@pytest.mark.parametrize("d", [0.3, 1.0, 10.5, 25.0, 50.0])
def test_no_expected_q_or_flags_outside_the_range_the_curve_was_fitted_on(d):
    """The 2025 cubic was fitted on entries at 1.15–10 Å: it is not extrapolated (at 50 Å it would give −110)."""
    from qscore.analysis.groups import analyse
    from qscore.io.models import atoms_from_arrays

    atoms = atoms_from_arrays(np.zeros((3, 3)), name=["N", "CA", "C"], res_num=[1, 1, 1], mol_type=["protein"] * 3)
    a = analyse(atoms, np.array([0.5, 0.6, 0.7]), sigma=0.4, resolution=d, curve=EMDB_SIGMA_04)
    assert a.expected is None and a.flag_counts is None and "Q_flag" not in a.residues.columns
    assert "outside the resolutions the expected-Q curve was fitted on (1.15–10 Å" in a.expected_note
    assert a.to_dict()["note"] == a.expected_note and a.to_dict()["expected"] is None
    inside = analyse(atoms, np.array([0.5, 0.6, 0.7]), sigma=0.4, resolution=3.0, curve=EMDB_SIGMA_04)
    assert inside.expected is not None and inside.expected_note is None


def test_curves_record_their_range(tmp_path):
    from qscore.analysis.archive_stats import archive_stats
    from qscore.io.archive import archive_from_table

    rng = np.random.default_rng(2)
    d = rng.uniform(2.0, 6.0, 300)
    data = archive_from_table(pd.DataFrame({"resolution": d, "qscore": 1.2 - 0.15 * d + rng.normal(0, 0.03, 300)}))
    curve = archive_stats(data, repeats=2).expected_model()
    assert curve.d_range == (pytest.approx(d.min()), pytest.approx(d.max()))
    write_expected_model(tmp_path / "c.json", curve)
    assert read_expected_model(tmp_path / "c.json").d_range == curve.d_range
    old = json.loads((tmp_path / "c.json").read_text())
    del old["d_range"]  # a file written before ranges were recorded: read, unrestricted
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert read_expected_model(tmp_path / "old.json").d_range is None
