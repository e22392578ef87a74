"""The `aggregator` command: a thin layer over the service, pipeline and store."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aggregator import clock
from aggregator.config import (
    Config,
    ConfigError,
    config_file,
    load_config,
    plural,
    redact_url,
)
from aggregator.publish.render import FORMATS
from aggregator.version import __version__

if TYPE_CHECKING:
    from aggregator.core.match import MatchDocument, ParagraphCounts
    from aggregator.models import StoredItem, TermHit, TopicMatch
    from aggregator.store.base import SQLStore

DEFAULT_CONFIG = "aggregator.toml"
# Exit statuses besides 0 (see the README's CLI table).
EXIT_CONFIG = 2  # check-config: the config has problems, or there is no config file
EXIT_SOME_FAILED = 3  # poll: some sources failed, the others were polled
EXIT_ALL_FAILED = 4  # poll: every source polled failed
EXIT_BROKEN_PIPE = 141  # stdout's reader went away (as 128 + SIGPIPE for a shell tool)


def _given_config(args: argparse.Namespace) -> str | None:
    """--config as given after the command or before it (`aggregator -c F sources`)."""
    return args.config or args.global_config


def _config_path(args: argparse.Namespace) -> Path:
    """The config the user means: --config, else $AGGREGATOR_CONFIG, else the default name."""
    return Path(_given_config(args) or os.environ.get("AGGREGATOR_CONFIG") or DEFAULT_CONFIG)


def _config_file(args: argparse.Namespace) -> Path:
    """The file to read now: the built-in default stands in for an absent implicit path."""
    return config_file(_config_path(args), fall_back=_given_config(args) is None)


def _load(args: argparse.Namespace) -> Config:
    return load_config(_config_file(args))


def _when(timestamp: float | None) -> str:
    """A time as the CLI prints it everywhere: ISO 8601 in UTC, with its zone."""
    if not timestamp:
        return "-"
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- commands -------------------------------------------------------------------------


def cmd_check_config(args: argparse.Namespace) -> int:
    """Check the file the user means; with none, say so rather than check the default."""
    path = _config_path(args)
    if not path.exists():
        print(f"no config file: looked for {path} (give --config FILE or set "
              "AGGREGATOR_CONFIG)", file=sys.stderr)
        return EXIT_CONFIG
    try:
        config = load_config(path)
    except ConfigError as error:
        print(error.report(), file=sys.stderr)
        return EXIT_CONFIG
    print(
        f"{path}: OK: {plural(len(config.sources), 'source')}, "
        f"{plural(len(config.topics), 'topic')} "
        f"({', '.join(t.slug for t in config.topics) or 'none'}), "
        f"{plural(len(config.terms), 'term group')}; "
        f"storage {redact_url(config.storage_url())}; "
        f"serving on {config.server.host}:{config.server.port} as {config.server.public_base()}"
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from aggregator.store import open_store

    config = _load(args)
    store = open_store(config.storage_url())
    print(f"schema version {store.schema_version()} ({store.engine})")
    store.close()
    return 0


def _open_pipeline(config: Config):
    """Open the store with sources registered and topic history re-matched.

    Every command that shows a topic's stories goes through here, so an edited or new
    topic applies to the stored items the first time any command runs with it.
    """
    from aggregator.run.cycle import Pipeline
    from aggregator.store import open_store

    store = open_store(config.storage_url())
    pipeline = Pipeline(config, store)
    try:
        pipeline.prepare()
    except BaseException:
        store.close()
        raise
    return store, pipeline


def _open_for_reading(config: Config):
    """Open the store for a command that only reads, writing nothing unless it must.

    The store is opened read-only; only when the config has something the store lacks
    (a new source, a new or edited topic: `Pipeline.pending`) is it opened for writing
    to apply that first, as every command does. If it cannot be written (a read-only
    file, folder or database role), the command goes on with what is stored and says
    what was not applied. A store that is absent or needs migrating is opened for
    writing, as before, to create or upgrade it.
    """
    from aggregator.run.cycle import Pipeline
    from aggregator.store import StoreError, open_store

    try:
        store = open_store(config.storage_url(), read_only=True)
    except StoreError:
        return _open_pipeline(config)
    pipeline = Pipeline(config, store)
    pending = pipeline.pending()
    if not pending:
        return store, pipeline
    store.close()
    try:
        return _open_pipeline(config)
    except StoreError as error:
        print(f"warning: {' '.join(str(error).split())}: {', '.join(pending)} not applied; "
              "showing the store as it is", file=sys.stderr)
    store = open_store(config.storage_url(), read_only=True)
    return store, Pipeline(config, store)


def cmd_poll(args: argparse.Namespace) -> int:
    from aggregator.run.cycle import SourceReport

    config = _load(args)
    names = args.source or None
    if names:
        unknown = [n for n in names if n not in {s.name for s in config.sources}]
        if unknown:
            print(f"unknown source(s): {', '.join(unknown)}", file=sys.stderr)
            return 2
    store, pipeline = _open_pipeline(config)
    total = len(names or pipeline.enabled_sources())
    use_progress = sys.stdout.isatty() and not args.no_progress
    if "AGGREGATOR_LOG_LEVEL" not in os.environ:
        # each source's line below is its report; its log record would say it again
        logging.getLogger("aggregator.poll").setLevel(logging.ERROR)

    def line(report: SourceReport) -> str:
        if report.status in FAILED:
            return f"{report.source}: {report.status}: {report.error}"
        # "new" and "updated" are what the counts say; other statuses are named
        status = "" if report.status in ("new", "updated") else f"{report.status}: "
        text = (f"{report.source}: {status}{report.new} new, {report.updated} updated"
                f", {report.merged} merged into existing stories "
                f"({plural(report.entries, 'entry', 'entries')}, "
                f"{report.bytes / 1024:.1f} KB, {report.elapsed:.2f}s)")
        if report.problem:
            text += f" [warning: {report.problem}]"
        if report.redirected_to:
            text += f" [moved permanently to {report.redirected_to}]"
        return text

    try:
        if use_progress:
            from rich.progress import Progress

            with Progress(transient=False) as progress:
                task = progress.add_task("polling", total=total)

                def on_source(report: SourceReport) -> None:
                    progress.console.print(line(report), markup=False, highlight=False)
                    progress.advance(task)

                report = asyncio.run(pipeline.run_cycle(names, on_source=on_source))
        else:
            report = asyncio.run(
                pipeline.run_cycle(names, on_source=lambda r: print(line(r), flush=True))
            )
    finally:
        store.close()
    failed = sum(report.count(status) for status in FAILED)
    print(
        f"total: {plural(len(report.sources), 'source')} ({report.count('new')} new, "
        f"{report.count('updated')} updated, {report.count('unchanged')} unchanged, "
        f"{plural(failed, 'error')}); {plural(report.total('new'), 'new item')}, "
        f"{report.total('updated')} updated, {report.total('merged')} merged; "
        f"{report.elapsed:.2f}s"
    )
    if failed and failed == len(report.sources):
        return EXIT_ALL_FAILED
    return EXIT_SOME_FAILED if failed else 0


FAILED = ("error", "gone")  # poll statuses of a source that was not read


def cmd_render(args: argparse.Namespace) -> int:
    from aggregator.publish.cache import FeedService, PageOutOfRange, UnknownTopic

    config = _load(args)
    store, _ = _open_for_reading(config)
    try:
        rendered = FeedService(config, store).get(args.slug, args.format, args.page, args.limit)
    except UnknownTopic:
        print(f"no topic {args.slug!r}; topics: {', '.join(t.slug for t in config.topics)}",
              file=sys.stderr)
        return 2
    except PageOutOfRange as error:
        print(str(error), file=sys.stderr)
        return 2
    finally:
        store.close()
    sys.stdout.buffer.write(rendered.body)  # a reader that stops early: see main
    if not rendered.body.endswith(b"\n"):
        sys.stdout.buffer.write(b"\n")
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    config = _load(args)
    store, _ = _open_for_reading(config)
    states = store.source_states([s.name for s in config.sources])
    store.close()
    rows = [
        {
            "name": s.name,
            "url": s.current_url,
            "enabled": s.enabled,
            "disabled_reason": s.disabled_reason,
            "redirected_from": s.redirected_from,
            "last_attempt": _when(s.last_attempt),
            "last_success": _when(s.last_success),
            "last_status": s.last_status,
            "last_http_status": s.last_http_status,
            "consecutive_failures": s.consecutive_failures,
            "last_error": s.last_error,
            "last_problem": s.last_problem,
            "items_last_7_days": s.items_last_7_days,
            "mean_fetch_ms": round(s.mean_fetch_seconds * 1000, 1)
            if s.mean_fetch_seconds is not None else None,
            "next_poll": _when(s.next_poll),
        }
        for s in states
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Sources")
    for column in ("source", "status", "last success", "next poll", "failures", "7 days",
                   "mean ms", "last error"):
        table.add_column(column, overflow="fold")
    for row in rows:
        status = row["last_status"] or "never polled"
        if not row["enabled"]:
            status = f"disabled ({row['disabled_reason']})"
        if row["redirected_from"]:
            status += f"; moved from {row['redirected_from']}"
        next_poll = row["next_poll"] if row["enabled"] else "never (disabled)"
        table.add_row(row["name"], status, row["last_success"], next_poll,
                      str(row["consecutive_failures"]),
                      str(row["items_last_7_days"]), str(row["mean_fetch_ms"] or "-"),
                      row["last_error"] or row["last_problem"] or "")
    Console(width=int(os.environ.get("COLUMNS", "160"))).print(table)
    return 0


def _stored_document(
    stored: StoredItem, tags: dict[str, list[str]], counts: ParagraphCounts | None = None
) -> MatchDocument:
    """What the matcher reads of a stored item; `tags`: source name -> its tags;
    `counts`: the stored paragraphs, to recognise the source's boilerplate."""
    from aggregator.core.process import match_document

    repeated = counts.repeated(stored.source) if counts is not None else frozenset()
    return match_document(stored, tags.get(stored.source, []), repeated)


def _paragraph_counts(store: SQLStore, since: float, source: str | None = None) -> ParagraphCounts:
    """The stored items' paragraphs per source (of one source, if given)."""
    from aggregator.core.process import paragraph_counts

    return paragraph_counts(
        item for batch in store.items_since(since) for item in batch
        if source is None or item.source == source
    )


def _min_score(config: Config, slug: str) -> float:
    from aggregator.core.match import DEFAULT_MIN_SCORE

    chosen = config.topic(slug).min_score
    return DEFAULT_MIN_SCORE if chosen is None else chosen


def _verdict(match: TopicMatch, min_score: float) -> str:
    """"MATCHES (score 4.33, min_score 1.5): <reason>" """
    verdict = "MATCHES" if match.matched else "does not match"
    if match.score is not None and match.hits:
        verdict += f" (score {match.score:.2f}, min_score {min_score:g})"
    return f"{verdict}: {match.reason}"


def _hit_lines(hits: list[TermHit]) -> list[str]:
    """One line per hit: where, its weight, the term, why it was discounted, a snippet."""
    lines = []
    for hit in hits:
        term = repr(hit.term)
        if hit.synonym_of:
            term += f" (synonym of {hit.synonym_of!r})"
        note = f" [{hit.note}]" if hit.note else ""
        where = hit.location or hit.field
        lines.append(f"{where:<11} {hit.weight:4.2f}  {term}{note}  «{hit.snippet}»")
    return lines


def _source_tags(config: Config) -> dict[str, list[str]]:
    return {source.name: source.tags for source in config.sources}


def cmd_explain(args: argparse.Namespace) -> int:
    from aggregator.cli_actions import explain_curation
    from aggregator.cli_stories import explain_pair

    config = _load(args)
    store, pipeline = _open_for_reading(config)
    matcher = pipeline.matcher
    try:
        items = store.find_items(args.ref)
        if not items:
            print(f"no stored item has id, story id or link {args.ref!r}", file=sys.stderr)
            return 1
        item = items[0]
        print(f"item {item.item_id} from {item.source}: {item.title}")
        print(f"  link: {item.link}\n  published: {_when(item.published)}")
        print(f"  story: {item.story_id}")
        since = clock.now() - config.storage.retention_days * 86400
        counts = _paragraph_counts(store, since, item.source)
        for match in matcher.explain(_stored_document(item, _source_tags(config), counts)):
            print(f"  topic {match.topic}: {_verdict(match, _min_score(config, match.topic))}")
            for line in _hit_lines(match.hits):
                print(f"      {line}")
        explain_curation(store, item)
        threshold = config.dedupe.threshold
        others = [o for o in store.story_items(item.story_id) if o.item_id != item.item_id]
        if args.other:
            others = store.find_items(args.other)
            if not others:
                print(f"no stored item has id, story id or link {args.other!r}", file=sys.stderr)
                return 1
        if not item.fingerprinted:
            print("  not compared when stored: outside the dedupe scope (no topic matched "
                  "it or has terms in it)" + ("; below, what its text would give" if others
                                              else ""))
        elif others and not args.other:
            print(f"  merged with {plural(len(others), 'other copy', 'other copies')}:")
        for other in others:
            explain_pair(store, item, other, threshold)
    finally:
        store.close()
    return 0


def _print_story(title: str, source: str, published: float, extra: list[str]) -> None:
    print(f"{_when(published)}  {title}  [{source}]")
    for line in extra:
        print(f"    {line}")


def cmd_stories(args: argparse.Namespace) -> int:
    config = _load(args)
    try:
        config.topic(args.slug)
    except KeyError:
        print(f"no topic {args.slug!r}", file=sys.stderr)
        return 2
    store, _ = _open_for_reading(config)
    stories = store.topic_stories(args.slug, args.limit)
    store.close()
    for story in stories:
        extra = [f"id {story.story_id}; matched: "
                 + ", ".join(f"{h.term} ({h.field})" for h in story.hits)]
        extra += [f"also on {c.source}: {c.link or c.title}" for c in story.copies]
        _print_story(story.primary.title, story.primary.source, story.published, extra)
    print(plural(len(stories), "story", "stories"))
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    from aggregator.core.match import compile_topics
    from aggregator.store import StoreError, open_store

    config = _load(args)
    try:
        config.topic(args.slug)
    except KeyError:
        print(f"no topic {args.slug!r}", file=sys.stderr)
        return 2
    matcher = compile_topics([config.topic(args.slug)], config.terms, config.synonyms)
    try:
        store = open_store(config.storage_url(), read_only=True)
    except StoreError:  # absent or needs migrating: create or upgrade it, as before
        store = open_store(config.storage_url())
    since = clock.now() - config.storage.retention_days * 86400
    stories: dict[str, list[Any]] = {}
    rejected: list[tuple[StoredItem, TopicMatch]] = []
    tags = _source_tags(config)
    counts = _paragraph_counts(store, since)
    for batch in store.items_since(since):
        for stored in batch:
            match = matcher.match(_stored_document(stored, tags, counts))[0]
            if match.matched:
                stories.setdefault(stored.story_id, []).append((stored, match))
            elif match.hits:
                rejected.append((stored, match))
    store.close()
    min_score = _min_score(config, args.slug)
    ordered = sorted(stories.values(), key=lambda copies: -min(c[0].published for c in copies))
    for copies in ordered[: args.limit]:
        first, match = min(copies, key=lambda c: c[0].published)
        score = f"; score {match.score:.2f}" if match.score is not None else ""
        extra = [f"matched: {_hit_words(match.hits)}{score}"] if match.hits else []
        extra += [f"also on {c[0].source}" for c in copies if c[0] is not first]
        _print_story(first.title, first.source, first.published, extra)
    print(f"{plural(len(stories), 'story', 'stories')} would be published "
          f"in {args.slug}")
    if args.rejected:
        print(f"\n{len(rejected)} items have the topic's terms but were not kept "
              f"(min_score {min_score:g}):")
        rejected.sort(key=lambda pair: -pair[0].published)
        for stored, match in rejected[: args.limit]:
            extra = [f"score {match.score or 0:.2f}: {match.reason}", *_hit_lines(match.hits)]
            _print_story(stored.title, stored.source, stored.published, extra)
    return 0


def _hit_words(hits: list[TermHit]) -> str:
    """"lupus (title), SLE (lead, list)": each term once per location and discount."""
    shown = dict.fromkeys(
        f"{h.term} ({h.location or h.field}" + (f", {h.note})" if h.note else ")") for h in hits
    )
    return ", ".join(shown)


def cmd_run(args: argparse.Namespace) -> int:
    from aggregator.web.server import run_service

    return run_service(_config_path(args), fall_back=_given_config(args) is None, role=args.role,
                       host=args.host, port=args.port, watch=args.watch)


# -- parser ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from aggregator.cli_actions import add_commands as add_action_commands
    from aggregator.cli_add import add_commands as add_source_commands
    from aggregator.cli_search import add_commands as add_search_commands
    from aggregator.cli_stories import add_commands as add_story_commands
    from aggregator.cli_websub import add_commands as add_websub_commands

    parser = argparse.ArgumentParser(
        prog="aggregator",
        description="Poll newswire feeds, keep the stories your topics care about, and "
                    "republish each story once as Atom, RSS and JSON Feed.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", "-c", dest="global_config", metavar="FILE",
                        help="TOML config, for any command (also accepted after it)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Any, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--config", "-c", metavar="FILE",
                         help=f"TOML config (default: $AGGREGATOR_CONFIG or {DEFAULT_CONFIG}, "
                              "else the built-in default with no sources)")
        sub.set_defaults(handler=handler)
        return sub

    run = command("run", cmd_run, "Run the poller and the HTTP server.")
    run.add_argument("--role", choices=["all", "worker", "web"], default="all",
                     help="all: poll and serve; worker: poll only; web: serve only")
    run.add_argument("--host", help="override [server] host")
    run.add_argument("--port", type=int, help="override [server] port")
    run.add_argument("--watch", action="store_true",
                     help="reload the config when the file changes (SIGHUP always does)")

    poll = command("poll", cmd_poll, "Poll every source once now and exit.")
    poll.add_argument("--source", action="append", metavar="NAME",
                      help="poll only this source (repeatable)")
    poll.add_argument("--no-progress", action="store_true", help="plain lines even on a TTY")

    render = command("render", cmd_render, "Write one topic's feed to stdout.")
    render.add_argument("slug")
    render.add_argument("--format", "-f", choices=list(FORMATS), default="atom")
    render.add_argument("--page", type=int, default=1)
    render.add_argument("--limit", type=int, help="entries per page (capped by config)")

    command("check-config", cmd_check_config, "Validate the config and print a summary.")
    command("migrate", cmd_migrate, "Create or upgrade the store's schema.")

    sources = command("sources", cmd_sources, "Show every source's health.")
    sources.add_argument("--json", action="store_true", help="machine-readable output")

    explain = command("explain", cmd_explain,
                      "Say why a stored item matched each topic or not, and why it was "
                      "merged with other copies (or with OTHER) or not.")
    explain.add_argument("ref", help="item id, story id, or article URL")
    explain.add_argument("other", nargs="?", help="a second item to compare for merging")

    add_story_commands(command)
    add_source_commands(command)
    add_websub_commands(command)
    add_search_commands(command)
    add_action_commands(command)

    stories = command("stories", cmd_stories, "List a topic's stories with all their copies.")
    stories.add_argument("slug")
    stories.add_argument("--limit", type=int, default=50)

    preview = command("preview", cmd_preview,
                      "List what a topic would publish from stored items, before deploying.")
    preview.add_argument("slug")
    preview.add_argument("--limit", type=int, default=50)
    preview.add_argument("--rejected", action="store_true",
                         help="also list the items with the topic's terms that the score "
                              "dropped, and why")
    return parser


CANNOT_WRITE = ("readonly", "read-only", "permission denied", "insufficient privilege",
                "cannot create")


def store_error_line(error: Exception) -> str:
    """A store failure as one line: which store and what failed (the message names
    both), then what to do about it, unless the message already says."""
    text = " ".join(str(error).split())
    if "`aggregator " in text:
        return f"store error: {text}"
    if any(word in text.lower() for word in CANNOT_WRITE):
        todo = ("let this user write the store (the SQLite file and its folder, or the "
                "database role), or use a command that only reads: sources, stories, "
                "render, explain, preview")
    else:
        todo = "check [storage] url (or AGGREGATOR_STORAGE_URL) and that the store is reachable"
    return f"store error: {text}; {todo}"


def main(argv: list[str] | None = None) -> int:
    from aggregator.logs import setup_logging
    from aggregator.store import StoreError

    args = build_parser().parse_args(argv)
    setup_logging(os.environ.get("AGGREGATOR_LOG_FORMAT", "text"),
                  os.environ.get("AGGREGATOR_LOG_LEVEL", "WARNING" if args.command != "run"
                                 else "INFO"))
    try:
        return args.handler(args)
    except ConfigError as error:
        print(error.report(), file=sys.stderr)
        return 1
    except StoreError as error:
        print(store_error_line(error), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `aggregator render ... | head`: the reader has all it wants. Point stdout at
        # /dev/null so the interpreter's last flush does not fail again on exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
