"""Term lists the core reads (diseases, agencies, meetings, units, ...), kept as data.

Each list is a TOML file beside this module that names where its terms come from;
`load` reads one once per process. Package data read at import, like a compiled
regex, so the deciding stages stay free of I/O at run time.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from typing import Any


@functools.cache
def load(name: str) -> dict[str, Any]:
    """The vocabulary file `name`.toml of this package, parsed (cached; do not mutate)."""
    with resources.files(__package__).joinpath(f"{name}.toml").open("rb") as handle:
        return tomllib.load(handle)
