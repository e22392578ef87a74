"""newswire-aggregator."""

from aggregator.version import __version__

__all__ = ["__version__", "main"]


def main() -> int:
    """The `aggregator` command (see aggregator.cli).

    The console script imports this, not the CLI, because spawned document workers
    import their parent's main module (the console script) before their own work: with
    the CLI at the top of it, each worker also loaded the config models, the renderers
    and their dependencies, 18 MB it never uses.
    """
    from aggregator.cli import main as cli_main

    return cli_main()
