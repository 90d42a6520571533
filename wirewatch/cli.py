"""The ``wirewatch`` command line. Each module in :mod:`wirewatch.commands` with a
``register(app)`` function adds its commands; this file only assembles them.
"""
from __future__ import annotations

import importlib
import pkgutil

import typer

from pipeline.logs import configure_logging
from pipeline.settings import get_settings

app = typer.Typer(
    name="wirewatch",
    help="Wirewatch: poll news feeds, fetch, dedupe and enrich articles, index them into "
    "OpenSearch/Elasticsearch and alert on saved searches.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


#: Commands that are long-running services: they log at settings.log_level in settings.log_format.
#: The others are interactive: they report their own outcome, log at settings.cli_log_level
#: (WARNING: warnings and errors still show) and, with log_format auto, as readable lines.
SERVICE_COMMANDS = {"worker", "beat", "run"}


@app.callback()
def _root(ctx: typer.Context,
          verbose: int = typer.Option(0, "--verbose", "-v", count=True,
                                      help="Interactive commands: also show INFO logs (-vv: DEBUG).")) -> None:
    """Check the settings and configure logging before any command runs."""
    from pipeline.errors import ConfigError
    from wirewatch.output import fail

    try:
        s = get_settings()
    except ConfigError as exc:
        raise fail(str(exc), code=2)
    _warn_unknown_settings()
    if ctx.invoked_subcommand in SERVICE_COMMANDS:
        configure_logging(s.log_level, s.log_format)
        return
    level = {0: s.cli_log_level, 1: "INFO"}.get(verbose, "DEBUG")
    configure_logging(level, "console" if s.log_format == "auto" else s.log_format)


def _warn_unknown_settings() -> None:
    """Warn on stderr about each key of the settings file that is no setting (a typo would
    otherwise be ignored silently); the command still runs."""
    from rich.markup import escape

    from pipeline.settings import config_file_path, unknown_settings_keys
    from wirewatch.output import err_console

    for key, close in unknown_settings_keys():
        hint = f"did you mean {close!r}? " if close else ""
        err_console.print(f"[yellow]warning:[/yellow] {escape(str(config_file_path()))}: unknown setting {escape(repr(key))} "
                          f"is ignored ({hint}`wirewatch config` lists every setting)", soft_wrap=True)


def _register_all() -> None:
    import wirewatch.commands as pkg

    for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{pkg.__name__}.{mod.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


def unwrap_help(text: str) -> str:
    """A docstring as help text: dedented, each paragraph on one line, paragraphs kept apart.

    Typer's rich help keeps a docstring's single line breaks (the command list shows the first
    paragraph with them, a command's page the later ones), so lines wrapped for the source
    would break mid-sentence on screen; rich wraps one-line paragraphs to the terminal itself.
    A paragraph starting with click's ``\\b`` marker is left as written.
    """
    import inspect

    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else " ".join(line.strip() for line in p.splitlines())
                       for p in paragraphs)


def _unwrap_all_help(typer_app: typer.Typer) -> None:
    """Give every command and group of ``typer_app`` (recursively) unwrapped help text."""
    for info in typer_app.registered_commands:
        text = info.help or (info.callback.__doc__ if info.callback else None)
        if text:
            info.help = unwrap_help(text)
    for group in typer_app.registered_groups:
        sub = group.typer_instance
        if group.help:
            group.help = unwrap_help(group.help)
        if sub is not None:
            if isinstance(sub.info.help, str):
                sub.info.help = unwrap_help(sub.info.help)
            _unwrap_all_help(sub)


_register_all()
_unwrap_all_help(app)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
