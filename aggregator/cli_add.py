"""`aggregator add-source` and `import-opml`: sources without a text editor.

Both end in `aggregator.configedit.add_sources`, which appends to the config file the
curator keeps (comments and layout untouched, the result validated before it replaces
the file). A running service picks the change up through its normal reload: at once
with `aggregator run --watch`, else on SIGHUP.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aggregator import clock
from aggregator.config import Config, load_config, parse_config

if TYPE_CHECKING:
    from aggregator.configedit import AddOutcome

EXIT_NOT_ADDED = 1  # add-source: no feed found, or already a source
EXIT_SOME_REJECTED = 3  # import-opml --check: some listed URLs are not feeds (the rest added)
RELOAD_HINT = (
    "a running `aggregator run --watch` picks it up within seconds; "
    "otherwise send the service SIGHUP"
)
MAX_NAME = 200  # SourceConfig.name's limit


def _tags(values: list[str] | None) -> tuple[str, ...]:
    """--tags a b, --tags a,b or both: each tag once, in the order given."""
    split = (tag.strip() for value in values or () for tag in value.split(","))
    return tuple(dict.fromkeys(tag for tag in split if tag))


def _with_scheme(url: str) -> str:
    """A pasted "example.com/news" means https; a URL with a scheme is taken as given."""
    url = url.strip()
    return url if "://" in url or url.startswith("file:") else f"https://{url}"


def _derived_name(title: str | None, url: str) -> str:
    """A source name from the feed's title (one line), else the URL's host."""
    name = " ".join((title or "").split()) or urlsplit(url).hostname or url
    return name[:MAX_NAME]


def _target(args: argparse.Namespace) -> tuple[Config, Path]:
    """The config to add to and its settings. An implicit path that does not exist yet is
    created with the first source (defaults meanwhile, without the warning a service
    gives when it falls back); a --config FILE that does not exist is a typo, refused."""
    from aggregator.cli import _config_path, _given_config

    path = _config_path(args)
    if path.exists() or _given_config(args):
        return load_config(path), path
    return parse_config({}), path


def _note(command: str) -> str:
    return f"added by `aggregator {command}` on {datetime.fromtimestamp(clock.now(), UTC):%Y-%m-%d}"


def cmd_add_source(args: argparse.Namespace) -> int:
    from aggregator.configedit import NewSource, add_sources, url_key
    from aggregator.sources.discover import NoFeedFound, discover_feed

    config, path = _target(args)
    url = _with_scheme(args.url)
    for source in config.sources:
        if url_key(source.url) == url_key(url):
            print(f"not added: {url} is already a source: {source.name!r}", file=sys.stderr)
            return EXIT_NOT_ADDED
    try:
        found = asyncio.run(discover_feed(url, config.fetch))
    except NoFeedFound as error:
        print(str(error), file=sys.stderr)
        return EXIT_NOT_ADDED
    name = args.name.strip() if args.name else _derived_name(found.title, found.url)
    new = NewSource(name, found.url, _tags(args.tags), name_chosen=bool(args.name))
    outcome = add_sources(path, [new], note=_note("add-source"))
    if outcome.refused:
        refusal = outcome.refused[0]
        print(f"not added: {refusal.source.url}: {refusal.reason}", file=sys.stderr)
        return EXIT_NOT_ADDED
    added = outcome.added[0]
    tags = f", tags {', '.join(added.tags)}" if added.tags else ""
    print(
        f"added source {added.name!r}: {added.url} (found via {found.via}; "
        f"{found.entries} entries now{tags}) to {path}{_created(outcome)}; {RELOAD_HINT}"
    )
    return 0


def _created(outcome: AddOutcome) -> str:
    return " (a new file)" if outcome.created else ""


def cmd_import_opml(args: argparse.Namespace) -> int:
    from aggregator.configedit import NewSource, add_sources
    from aggregator.sources.discover import check_feeds
    from aggregator.sources.opml import OpmlError, read_opml

    config, path = _target(args)
    try:
        feeds = read_opml(Path(args.file).read_bytes())
    except (OSError, OpmlError) as error:
        print(f"{args.file}: {getattr(error, 'strerror', None) or error}", file=sys.stderr)
        return EXIT_NOT_ADDED
    extra = _tags(args.tags)
    rejected: dict[str, str] = {}
    if args.check:
        checked = asyncio.run(check_feeds([feed.url for feed in feeds], config.fetch))
        rejected = {url: why for url, why in checked.items() if isinstance(why, str)}
    for feed in feeds:
        if feed.listed > 1:
            print(
                f"listed {feed.listed} times: {feed.url}: one source with the tags of "
                f"each folder ({', '.join(feed.tags) or 'none'})"
            )
        if feed.url in rejected:
            print(f"not a feed, not added: {feed.url} ({rejected[feed.url]})")
    new = [
        NewSource(
            _derived_name(feed.title, feed.url),
            feed.url,
            tuple(dict.fromkeys((*feed.tags, *extra))),
            name_chosen=False,
        )
        for feed in feeds
        if feed.url not in rejected
    ]
    outcome = add_sources(path, new, note=_note(f"import-opml {Path(args.file).name}"))
    for source in outcome.added:
        print(
            f"added {source.name!r}: {source.url}"
            + (f" [{', '.join(source.tags)}]" if source.tags else "")
        )
    for refusal in outcome.refused:
        print(f"skipped {refusal.source.url}: {refusal.reason}")
    print(
        f"{args.file}: {len(feeds)} feeds listed; {len(outcome.added)} added to {path}"
        f"{_created(outcome)}, {len(outcome.refused)} skipped as duplicates"
        + (
            f", {len(rejected)} not feeds"
            if args.check
            else " (not fetched: give --check to check each one parses)"
        )
        + (f"; {RELOAD_HINT}" if outcome.added else "")
    )
    return EXIT_SOME_REJECTED if rejected else 0


def add_commands(command: Any) -> None:
    """Register the commands with the main parser's `command(name, handler, help)`."""
    add = command(
        "add-source",
        cmd_add_source,
        "Add a feed to the config file (comments kept): URL may be the feed or "
        "a web page that leads to it.",
    )
    add.add_argument("url", metavar="URL", help="the feed, or a page that links to it")
    add.add_argument("--name", help="the source's name (default: the feed's title)")
    add.add_argument(
        "--tags",
        nargs="+",
        action="extend",
        metavar="TAG",
        help="tags for topics to draw on (space- or comma-separated)",
    )
    opml = command(
        "import-opml",
        cmd_import_opml,
        "Add every feed of an OPML file to the config file; folders become "
        "tags, feeds already there are skipped.",
    )
    opml.add_argument("file", metavar="FILE", help="an OPML export of a feed reader")
    opml.add_argument(
        "--check",
        action="store_true",
        help="fetch each feed and add only those that parse (slower)",
    )
    opml.add_argument(
        "--tags",
        nargs="+",
        action="extend",
        metavar="TAG",
        help="tags for every imported feed, besides its folders",
    )
