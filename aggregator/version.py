"""The release version, in a module of its own: every layer may name it (User-Agent,
feed generator, `--version`) without importing the package root, which starts the CLI."""

__version__ = "0.1.0"
