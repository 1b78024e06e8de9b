"""The one error funnel of the command line: every command runs through :func:`handle_errors`.

The library raises :class:`~qscore.errors.QScoreError` with messages in Python's terms
(``window=-1``); here they become one line in the command line's terms (``--window -1``), on stderr,
with exit code 2 — or the traceback with ``qscore --debug``.  Warnings of the package
(:class:`~qscore.errors.QScoreWarning`) are printed as ``Warning: …`` lines on stderr as they come, and
so are other libraries' (one line, with the warning's class and package).  Usage errors of click are one
line too (:class:`OneLineGroup`), and an unexpected exception is one line that says it is a bug (exit 1).
"""

from __future__ import annotations

import functools
import re
import warnings

import click

from ..errors import QScoreError, QScoreWarning

__all__ = ["EXIT_BAD_INPUT", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "QScoreCommandError", "OneLineGroup",
           "handle_errors", "cli_message", "echo_warning", "one_line"]

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1
EXIT_INTERRUPTED = 130


def one_line(text: str) -> str:
    """``text`` on one line: line breaks (gemmi's and pandas' messages have them) become spaces."""
    return re.sub(r"\s*\n\s*", " ", str(text)).strip()


class QScoreCommandError(click.ClickException):
    """A QScoreError reported by the CLI: one line, exit code 2."""

    exit_code = EXIT_BAD_INPUT

    def show(self, file=None):
        click.echo(f"Error: {one_line(self.format_message())}", err=True)


class _OneLineUsageError(click.UsageError):
    """click's usage error as one line that points to the command's --help (not click's usage block)."""

    def show(self, file=None):
        where = self.ctx.command_path if self.ctx is not None else "qscore"
        click.echo(f"Error: {one_line(self.format_message())} See '{where} --help'.", err=True)


class OneLineGroup(click.Group):
    """The root command group: usage errors (an unknown option, a missing argument, a bad value) of it
    and of every command under it are one line with exit code 2, as the package's own errors are."""

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            raise _one_line_usage(exc) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise _one_line_usage(exc) from None


def _one_line_usage(exc: click.UsageError) -> click.UsageError:
    if isinstance(exc, _OneLineUsageError):
        return exc
    return _OneLineUsageError(exc.format_message(), ctx=exc.ctx)


def _option(command: click.Command | None, name: str, aliases: dict) -> tuple:
    """(the option's flag, whether it is a flag, its negation's flag) for the Python parameter ``name``."""
    params = {p.name: p for p in (command.params if command is not None else []) if isinstance(p, click.Option)}
    target = params.get(aliases.get(name, name))
    negation = params.get(f"no_{aliases.get(name, name)}")
    flag = target.opts[0] if target is not None else "--" + aliases.get(name, name).replace("_", "-")
    return flag, bool(target is not None and target.is_flag), negation.opts[0] if negation is not None else None


def cli_message(exc: QScoreError, command: click.Command | None = None, aliases: dict | None = None) -> str:
    """The message of ``exc`` with the Python parameters it names written as the command's options.

    ``name=True`` becomes the flag (``--skip-outside``), ``name=False`` its ``--no-…`` option where there is
    one, ``name=value`` becomes ``--name value`` and a bare ``name=`` the option alone.  ``aliases`` maps a
    Python parameter to the name of the click parameter that gives it (``{'archive': 'archive_path'}``).

    Parameters
    ----------
    exc : QScoreError
    command : click.Command, optional — the command whose options to use
    aliases : dict, optional

    Returns
    -------
    str — one line
    """
    text = str(exc)
    for name in getattr(exc, "parameters", ()):
        flag, is_flag, negation = _option(command, name, aliases or {})
        key = re.escape(name)
        text = re.sub(rf"(?<![\w-]){key}=True\b", flag, text)
        if negation:
            text = re.sub(rf"(?<![\w-]){key}=False\b", negation, text)
        text = re.sub(rf"(?<![\w-]){key}=(?=[\s.,;:)]|$)", flag, text)
        text = re.sub(rf"(?<![\w-]){key}=(?=\S)", flag + (" " if not is_flag else "="), text)
    return text


def echo_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` for the CLI: the package's warnings as ``Warning: …`` lines on stderr.

    Parameters
    ----------
    message, category, filename, lineno, file, line : as :func:`warnings.showwarning` takes them
    """
    if issubclass(category, QScoreWarning):
        click.echo(f"Warning: {one_line(message)}", err=True)
    else:  # a warning of another package: one line too, saying whose (not its source line)
        package = re.search(r"(?:site|dist)-packages/([^/]+)", str(filename).replace("\\", "/"))
        origin = f" from {package.group(1)}" if package else ""
        click.echo(f"Warning: {one_line(message)} ({category.__name__}{origin})", err=True)


def handle_errors(func=None, *, aliases: dict | None = None, translate: bool = True):
    """Run a command through the funnel: QScoreError → one line and exit code 2 (traceback with --debug),
    Ctrl-C → exit code 130, the package's warnings → ``Warning:`` lines.

    Parameters
    ----------
    func : callable — the command's function (the decorator may also be used with keywords only)
    aliases : dict, optional — {Python parameter: click parameter name} where the two differ (see :func:`cli_message`)
    translate : bool — False keeps the library's ``name=value`` wording (``qscore-mapq``, whose own syntax it is)

    Returns
    -------
    callable — the wrapped function
    """
    if func is None:
        return functools.partial(handle_errors, aliases=aliases, translate=translate)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        debug = (ctx.find_root().obj or {}).get("debug", False)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("always", QScoreWarning)
                warnings.showwarning = echo_warning
                return func(*args, **kwargs)
        except QScoreError as exc:
            if debug:
                raise
            raise QScoreCommandError(cli_message(exc, ctx.command, aliases) if translate else str(exc)) from None
        except KeyboardInterrupt:
            click.echo("Interrupted; no partial output was left.", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except (click.exceptions.Exit, click.ClickException):
            raise
        except Exception as exc:  # a bug, not bad input: one line that says so (the traceback with --debug)
            if debug:
                raise
            click.echo(f"Error: internal error ({type(exc).__name__}: {one_line(exc)}); this is a bug in qscore: "
                       "rerun with 'qscore --debug' and report the traceback.", err=True)
            ctx.exit(EXIT_INTERNAL)

    return wrapper
