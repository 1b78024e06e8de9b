"""``qscore archive stats`` as a run: read the archive, compute the statistics (docs/science.md §9), write them.

The statistics are :mod:`qscore.analysis.archive_stats`; the figures :mod:`qscore.report.archive_plots`.
"""

from __future__ import annotations

from pathlib import Path

from ..analysis.archive_stats import ArchiveStats, archive_stats, fits_table
from ..errors import OutputError
from ..io.archive import read_archive
from ..io.curves import write_expected_model
from ..io.files import all_or_nothing, check_output_file, write_json, write_table
from ..io.paths import file_stem, output_folder
from ..provenance import versions
from ..report.archive_plots import write_archive_figures

__all__ = ["OUTPUT_NAMES", "default_out_dir", "write_archive_stats", "run_archive_stats"]


def default_out_dir(archive_path) -> Path:
    """``<archive stem>_stats`` in the working folder (``.gz`` and the table suffix removed): never the
    archive's own folder, which may be shared or read-only."""
    return Path.cwd() / f"{file_stem(archive_path)}_stats"


#: file names written into the output folder
OUTPUT_NAMES = {"summary_json": "archive_stats.json", "fits_csv": "polynomial_fits.csv",
                "cross_validation_csv": "cross_validation.csv", "rolling_csv": "rolling_offsets.csv",
                "windows_csv": "window_sizes.csv"}


def write_archive_stats(stats: ArchiveStats, folder, *, save_model=None, figures: bool = True,
                        command: str = "") -> dict:
    """Write the JSON summary, the tables, the figures (PNG and SVG) and optionally the model.

    Every file is written atomically; if anything fails, the files already written by this call
    are removed again, so no partial set is left.

    Parameters
    ----------
    stats : ArchiveStats
    folder : str or Path — existing output folder
    save_model : str or Path, optional — where to write the fitted :class:`ExpectedModel` (JSON)
    figures : bool — also draw the figures (matplotlib)
    command : str — the command line, recorded in the summary with the versions

    Returns
    -------
    dict {kind: path} of the files written.
    """
    folder = Path(folder)
    paths = {k: folder / name for k, name in OUTPUT_NAMES.items()}
    if save_model is not None:
        paths["model_json"] = Path(save_model)
    source = Path(stats.data.source).resolve()
    for p in paths.values():
        if p.resolve() == source:
            raise OutputError(f"Output '{p}' would overwrite the archive itself; choose another out_dir= or "
                              "save_model=.", parameter=("out_dir", "save_model"))
    with all_or_nothing() as written:
        summary = {**stats.summary(), "command": command, "versions": versions()}
        summary["outputs"] = {k: str(v) for k, v in paths.items()}
        tables = {"fits_csv": fits_table(stats.fits), "cross_validation_csv": stats.cross_validation.table,
                  "rolling_csv": stats.rolling, "windows_csv": stats.windows}
        for key, table in tables.items():
            write_table(paths[key], table)
            written.append(paths[key])
        if save_model is not None:
            write_expected_model(paths["model_json"], stats.expected_model())
            written.append(paths["model_json"])
        if figures:
            figure_paths = write_archive_figures(stats, folder, written=written)
            paths.update(figure_paths)
            summary["outputs"].update({k: str(v) for k, v in figure_paths.items()})
        write_json(paths["summary_json"], summary)
        written.append(paths["summary_json"])
    return {k: str(v) for k, v in paths.items()}


def run_archive_stats(archive_path, *, resolution_column: str | None = None, q_column: str | None = None,
                      drop_invalid: bool = False, out_dir=None, save_model=None, figures: bool = True,
                      command: str = "", **stats_options) -> tuple:
    """``qscore archive stats``: read an archive, compute every statistic, write them.

    Parameters
    ----------
    archive_path : str or Path — read by :func:`qscore.io.archive.read_archive`
    resolution_column, q_column, drop_invalid : how it is read
    out_dir : str or Path, optional — default :func:`default_out_dir`
    save_model : str or Path, optional — also write the fitted curve (JSON)
    figures : bool — draw the figures
    command : str — recorded in the summary
    **stats_options : passed to :func:`qscore.analysis.archive_stats.archive_stats` (degree, repeats, …)

    Returns
    -------
    (ArchiveStats, dict {kind: path} of the files written)
    """
    if save_model is not None:
        check_output_file(save_model, "save_model")
    data = read_archive(archive_path, resolution_column=resolution_column, q_column=q_column,
                        drop_invalid=drop_invalid)
    stats = archive_stats(data, **stats_options)
    with output_folder(out_dir if out_dir is not None else default_out_dir(archive_path), archive_path) as folder:
        return stats, write_archive_stats(stats, folder, save_model=save_model, figures=figures, command=command)
