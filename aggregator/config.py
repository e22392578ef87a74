"""Loading and validating the TOML configuration.

The config file is the user's only interface to the service, so every problem is
reported with the file, the key path (`sources[3].url`) and what is wrong, and all
problems are reported at once rather than the first one only. Deployment settings
can be overridden from the environment (see `ENV_OVERRIDES`) so a container can be
configured without editing the file.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, unquote, urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from aggregator.tomllines import key_lines, line_of

log = logging.getLogger("aggregator.config")

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: Any) -> float:
    """Accept seconds as a number or a string such as "90s", "15m", "2h", "1d"."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 900 or \"15m\"")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION_RE.match(value)):
        seconds = float(m.group(1)) * _DURATION_UNITS[m.group(2)]
    else:
        raise ValueError(f"not a duration: {value!r} (use seconds, or e.g. \"15m\", \"2h\")")
    if seconds <= 0:
        raise ValueError("must be greater than zero")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


def http_url(value: str) -> str:
    """`value` if it is an http(s) URL with a host (a base URL, a webhook)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not a URL: {value!r} (need http:// or https:// and a host)")
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Section):
    """One feed to poll. `url` may be http(s)://, file:// or a path relative to the config."""

    name: str = Field(min_length=1, max_length=200)
    url: str
    interval: Duration | None = None
    # How far a quiet feed's polls may stretch past `interval` (adaptive polling and the
    # publisher's cache hints); None: [fetch] max_interval, and without that, not at all.
    max_interval: Duration | None = None
    tags: list[str] = Field(default_factory=list)
    enabled: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme in ("http", "https"):
            if not parts.hostname:
                raise ValueError(f"not a URL: {value!r} has no host")
            return value
        if parts.scheme == "file" or (not parts.scheme and value):
            return value
        if len(parts.scheme) == 1:  # a Windows drive letter
            return value
        raise ValueError(f"not a URL: {value!r} (use http://, https://, file:// or a path)")


class TopicConfig(_Section):
    """One curated output feed and the rule that decides what goes in it."""

    slug: str
    title: str = Field(min_length=1)
    description: str = ""
    include: list[str] = Field(default_factory=list)  # any of
    require: list[str] = Field(default_factory=list)  # all of
    exclude: list[str] = Field(default_factory=list)  # none of
    query: str | None = None  # boolean query; see aggregator.core.match
    sources: list[str] = Field(default_factory=list)  # draw only from these names
    tags: list[str] = Field(default_factory=list)  # ... or sources with these tags
    trusted_sources: list[str] = Field(default_factory=list)  # every item, no terms needed
    max_entries: int | None = Field(default=None, ge=1, le=10_000)
    # How strong the evidence must be (see aggregator.core.match.relevance): a headline hit
    # scores 3, the lead 2, the body 1, boilerplate 0.1, a passing mention a fifth of that.
    # None: the default chosen on the development corpus. 0 keeps every item with a hit.
    min_score: float | None = Field(default=None, ge=0, le=100)
    synonyms: bool = True  # a term naming a shipped synonym set (CAR-T, lupus, ...) gets it
    # Where each new story of the topic is POSTed as JSON (aggregator.run.webhooks), signed
    # with this secret, else $AGGREGATOR_WEBHOOK_SECRET_<SLUG> or $AGGREGATOR_WEBHOOK_SECRET.
    webhook: str | None = None
    webhook_secret: str | None = Field(default=None, min_length=16)

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG_RE.match(value):
            raise ValueError(
                f"not a slug: {value!r} (lowercase letters, digits and '-', at most 64)"
            )
        return value

    @field_validator("webhook")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        return None if value is None else http_url(value.strip())

    @model_validator(mode="after")
    def _has_rule(self) -> TopicConfig:
        if not (self.include or self.require or self.query or self.trusted_sources):
            raise ValueError(
                "topic has no rule: give include, require, query or trusted_sources"
            )
        return self


class StorageConfig(_Section):
    url: str = "sqlite:///data/aggregator.db"
    retention_days: int = Field(default=90, ge=1)

    @field_validator("url")
    @classmethod
    def _storage_url(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        if scheme not in ("sqlite", "postgresql", "postgres"):
            raise ValueError(
                f"unsupported storage URL {redact_url(value)!r}: "
                "use sqlite:///path/to/file.db or postgresql://user@host/db"
            )
        return value


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    base_url: str | None = None  # public URL, used for self links; default http://host:port
    # How long a stop signal waits for in-flight polls before cancelling them; the
    # default fits inside Docker's 10 s between SIGTERM and SIGKILL.
    shutdown_grace: Duration = 8.0
    # A WebSub hub the topic feeds advertise and that is pinged when a topic changes.
    hub: str | None = None

    @field_validator("base_url", "hub")
    @classmethod
    def _base_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        return http_url(value).rstrip("/") if info.field_name == "base_url" else http_url(value)

    def public_base(self) -> str:
        return self.base_url or f"http://{self.host}:{self.port}"


class FetchConfig(_Section):
    timeout: Duration = 20.0  # per request: connect, read, write
    deadline: Duration = 60.0  # total time for one fetch, however slowly bytes arrive
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    concurrency: int = Field(default=50, ge=1, le=1000)
    per_host: int = Field(default=2, ge=1, le=100)
    max_redirects: int = Field(default=5, ge=0, le=20)
    default_interval: Duration = 900.0
    # None: a source is polled at its configured interval, never less often (see
    # Config.poll_bounds); a duration lets quiet feeds stretch up to it.
    max_interval: Duration | None = None
    backoff_max: Duration = 24 * 3600.0
    contact: str = "https://github.com/newswire-aggregator/newswire-aggregator"
    # How long a worker's claim on a source lasts unless renewed (every third of it while
    # it polls): how soon a dead worker's sources are taken over.
    lease: Duration = 60.0
    # Processes that parse, normalize, fingerprint and match fetched documents in large
    # cycles; None: one per CPU (at most 4), 0: all in the polling process.
    workers: int | None = Field(default=None, ge=0, le=64)


class WebSubConfig(_Section):
    """Subscribing to the hubs sources advertise (see aggregator.run.websub)."""

    subscribe: bool = True  # subscribe to a source's hub when its feed names one
    lease: Duration = 7 * 86400.0  # lease asked of the hub; the hub may grant another
    # While a push subscription is active its source is still polled, at most this often,
    # in case the hub drops it or misses an update.
    fallback_interval: Duration = 3600.0


class DedupeConfig(_Section):
    window_days: float = Field(default=7, gt=0)
    threshold: float = Field(default=0.5, gt=0, le=1)
    source_preference: list[str] = Field(default_factory=list)
    # "topics": only items some topic's terms occur in are fingerprinted and merged;
    # the rest are never published, so comparing them is wasted (see aggregator.core.process).
    # "all": every item, for a store kept as an archive of every story.
    scope: Literal["topics", "all"] = "topics"


class PublishConfig(_Section):
    max_entries: int = Field(default=50, ge=1, le=10_000)
    max_page_size: int = Field(default=200, ge=1, le=10_000)


class LoggingConfig(_Section):
    format: Literal["text", "json"] = "text"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Config(_Section):
    sources: list[SourceConfig] = Field(default_factory=list)
    topics: list[TopicConfig] = Field(default_factory=list)
    terms: dict[str, list[str]] = Field(default_factory=dict)
    # Extra terms for the shipped synonym sets, by set key: car-t = ["my product name"].
    synonyms: dict[str, list[str]] = Field(default_factory=dict)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    fetch: FetchConfig = Field(default_factory=FetchConfig)
    websub: WebSubConfig = Field(default_factory=WebSubConfig)
    dedupe: DedupeConfig = Field(default_factory=DedupeConfig)
    publish: PublishConfig = Field(default_factory=PublishConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    base_dir: Path = Field(default=Path("."), exclude=True)
    # Whether [storage] url was written in the config file (not the default or
    # AGGREGATOR_STORAGE_URL): a relative path is then relative to the file's folder.
    storage_in_file: bool = Field(default=False, exclude=True)

    def topic(self, slug: str) -> TopicConfig:
        for topic in self.topics:
            if topic.slug == slug:
                return topic
        raise KeyError(slug)

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    def poll_bounds(self, source: SourceConfig) -> tuple[float, float]:
        """(interval, ceiling) of a source's successful polls, in seconds.

        The configured interval is what the curator asked for, so by default it is also
        the ceiling: a quiet feed (or a publisher's max-age) must not turn "every 2
        minutes" into hours. Only a `max_interval` (the source's, else [fetch]'s) allows
        stretching, and never below the interval itself.
        """
        interval = source.interval or self.fetch.default_interval
        stretch = source.max_interval or self.fetch.max_interval or interval
        return interval, max(interval, stretch)

    def source_location(self, source: SourceConfig) -> str:
        """The source URL with a relative path resolved against the config's folder."""
        parts = urlsplit(source.url)
        if parts.scheme in ("http", "https", "file"):
            return source.url
        path = Path(source.url)
        if not path.is_absolute():
            path = self.base_dir / path
        return path.resolve().as_uri()

    def storage_url(self) -> str:
        """The storage URL, a relative SQLite path resolved where it was written.

        One rule for every path: a relative path in the config file is relative to the
        file's folder (like a source's path); the built-in default and the environment's
        AGGREGATOR_STORAGE_URL are relative to the working directory.
        """
        url = self.storage.url
        parts = urlsplit(url)
        path = unquote(parts.path)
        if (parts.scheme != "sqlite" or not self.storage_in_file or path.startswith("//")
                or path.strip("/") in ("", ":memory:")):
            return url
        resolved = (self.base_dir / path.lstrip("/")).resolve()
        return f"sqlite:///{quote(str(resolved))}" + (f"?{parts.query}" if parts.query else "")


def _tables(data: Mapping[str, Any], key: str) -> list[tuple[int, Mapping[str, Any]]]:
    """The `[[key]]` tables of raw TOML with their indexes, whatever else is wrong."""
    value = data.get(key)
    if not isinstance(value, list):
        return []
    return [(index, table) for index, table in enumerate(value) if isinstance(table, dict)]


def _strings(value: Any) -> list[tuple[int, str]]:
    """The strings of a raw TOML array with their positions (nothing if not an array)."""
    if not isinstance(value, list):
        return []
    return [(position, item) for position, item in enumerate(value) if isinstance(item, str)]


def _cross_reference_problems(data: Mapping[str, Any]) -> list[str]:
    """Names that must be unique or must exist, read from the raw TOML so that they are
    reported in the same run as every field's problems, not after those are fixed."""
    problems: list[str] = []
    sources = _tables(data, "sources")
    seen: dict[str, int] = {}
    for index, source in sources:
        name = source.get("name")
        if not isinstance(name, str):
            continue
        if name in seen:
            problems.append(
                f"sources[{index}].name: duplicate name {name!r} (also sources[{seen[name]}])"
            )
        seen.setdefault(name, index)
    known_tags = {tag for _, source in sources for _, tag in _strings(source.get("tags"))}
    slugs: dict[str, int] = {}
    for index, topic in _tables(data, "topics"):
        slug = topic.get("slug")
        if isinstance(slug, str):
            if slug in slugs:
                problems.append(
                    f"topics[{index}].slug: duplicate slug {slug!r} (also topics[{slugs[slug]}])"
                )
            slugs.setdefault(slug, index)
        for key in ("sources", "trusted_sources"):
            for position, name in _strings(topic.get(key)):
                if name not in seen:
                    problems.append(f"topics[{index}].{key}[{position}]: no source named {name!r}")
        for position, tag in _strings(topic.get("tags")):
            if tag not in known_tags:
                problems.append(f"topics[{index}].tags[{position}]: no source has tag {tag!r}")
    terms = data.get("terms")
    for name, group in (terms.items() if isinstance(terms, dict) else ()):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            problems.append(f"terms.{name}: group names are letters, digits and '_'")
        if group == []:
            problems.append(f"terms.{name}: empty term group")
    return problems


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """'1 topic', '2 topics' ('1 story', '2 stories' with `nouns`): counts as people
    write them."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


class ConfigError(Exception):
    """A config that cannot be used; `problems` holds one line per problem."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__(f"{self.path}: " + "; ".join(problems))

    def report(self) -> str:
        lines = [f"{self.path}: {plural(len(self.problems), 'problem')}"]
        lines += [f"  {problem}" for problem in self.problems]
        return "\n".join(lines)


# Environment variable → (section, key). Values are parsed by the same validators.
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "AGGREGATOR_STORAGE_URL": ("storage", "url"),
    "AGGREGATOR_RETENTION_DAYS": ("storage", "retention_days"),
    "AGGREGATOR_HOST": ("server", "host"),
    "AGGREGATOR_PORT": ("server", "port"),
    "AGGREGATOR_BASE_URL": ("server", "base_url"),
    "AGGREGATOR_SHUTDOWN_GRACE": ("server", "shutdown_grace"),
    "AGGREGATOR_LOG_FORMAT": ("logging", "format"),
    "AGGREGATOR_LOG_LEVEL": ("logging", "level"),
    "AGGREGATOR_FETCH_CONCURRENCY": ("fetch", "concurrency"),
    "AGGREGATOR_FETCH_TIMEOUT": ("fetch", "timeout"),
    "AGGREGATOR_FETCH_DEADLINE": ("fetch", "deadline"),
    "AGGREGATOR_CONTACT": ("fetch", "contact"),
    "AGGREGATOR_LEASE_SECONDS": ("fetch", "lease"),
}


def apply_env_overrides(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Return a copy of the raw config with the AGGREGATOR_* variables applied."""
    merged = {key: dict(value) if isinstance(value, dict) else value for key, value in data.items()}
    for variable, (section, key) in ENV_OVERRIDES.items():
        if variable in environ and environ[variable] != "":
            merged.setdefault(section, {})
            if isinstance(merged[section], dict):
                merged[section][key] = environ[variable]
    return merged


def format_location(loc: tuple[int | str, ...]) -> str:
    """('sources', 3, 'url') → 'sources[3].url'."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def _validation_problems(error: ValidationError) -> list[str]:
    problems = []
    for detail in error.errors():
        loc = tuple(part for part in detail["loc"] if not str(part).startswith("function-"))
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] == "extra_forbidden":
            message = "unknown key (check the spelling against the README)"
        elif detail["type"] == "missing":
            message = "required key is missing"
        if loc:
            problems.extend(f"{format_location(loc)}: {part}" for part in message.split("; "))
        else:
            problems.extend(message.split("; "))
    return problems


def parse_config(
    data: dict[str, Any],
    *,
    path: Path | str = "<config>",
    environ: Mapping[str, str] | None = None,
    source_text: str | None = None,
) -> Config:
    """Validate raw TOML data (after env overrides); raise ConfigError listing every problem.

    Every check runs whatever the others found (field values, cross-references, topic
    rules), so one run names every mistake; with `source_text`, each problem names the
    line its key is written on.
    """
    environ = os.environ if environ is None else environ
    storage = data.get("storage")
    storage_in_file = (isinstance(storage, dict) and "url" in storage
                       and not environ.get("AGGREGATOR_STORAGE_URL"))
    data = apply_env_overrides(data, environ)
    base_dir = Path(path).parent if str(path) != "<config>" else Path(".")
    problems: list[str] = []
    config = None
    try:
        config = Config.model_validate(
            {**data, "base_dir": base_dir, "storage_in_file": storage_in_file})
    except ValidationError as error:
        problems += _validation_problems(error)
    problems += _cross_reference_problems(data)
    problems += _topic_rule_problems(data)
    if problems or config is None:
        raise ConfigError(path, _with_lines(problems, source_text))
    return config


def _with_lines(problems: list[str], source_text: str | None) -> list[str]:
    """Each problem with the TOML line of its key, where the text spells the key out."""
    if source_text is None:
        return problems
    lines = key_lines(source_text)
    located: list[tuple[float, str]] = []
    for problem in problems:
        location, separator, _ = problem.partition(": ")
        line = line_of(location, lines) if separator else None
        located.append((float("inf"), problem) if line is None
                       else (line, f"{problem} (line {line})"))
    return [problem for _, problem in sorted(located, key=lambda pair: pair[0])]


@dataclass(frozen=True, slots=True)
class _TopicRules:
    """What the rule compiler reads of a topic, taken from raw TOML so that a topic
    whose other keys are wrong still has its query and terms checked."""

    slug: str
    include: list[str]
    require: list[str]
    exclude: list[str]
    query: str | None
    sources: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    trusted_sources: list[str] = field(default_factory=list)
    min_score: float | None = None
    synonyms: bool = True


def _topic_rule_problems(data: Mapping[str, Any]) -> list[str]:
    """Compile every topic's rule so a bad query or term names its topic and position."""
    from aggregator.core.match import RuleError, compile_topics

    def terms_of(table: Mapping[str, Any], key: str) -> list[str]:
        value = table.get(key)
        return [item for item in value if isinstance(item, str)] if isinstance(value, list) \
            else []

    topics = [
        _TopicRules(
            slug=str(topic.get("slug")),
            include=terms_of(topic, "include"),
            require=terms_of(topic, "require"),
            exclude=terms_of(topic, "exclude"),
            query=topic.get("query") if isinstance(topic.get("query"), str) else None,
        )
        if isinstance(topic, dict) else _TopicRules("", [], [], [], None)
        for topic in (data.get("topics") if isinstance(data.get("topics"), list) else [])
    ]
    raw_terms = data.get("terms")
    terms = {name: terms_of(raw_terms, name) for name in raw_terms} \
        if isinstance(raw_terms, dict) else {}
    raw_synonyms = data.get("synonyms")
    synonyms = {key: terms_of(raw_synonyms, key) for key in raw_synonyms} \
        if isinstance(raw_synonyms, dict) else {}
    try:
        compile_topics(topics, terms, synonyms)
    except RuleError as error:
        return list(error.problems)
    return []


# What a process reads when no config file has been provided: no sources, no topics.
BUILTIN_CONFIG = Path(__file__).resolve().parent / "defaults" / "default.toml"


def config_file(path: Path, *, fall_back: bool) -> Path:
    """The file to read for `path`: itself, or BUILTIN_CONFIG when it is absent and `fall_back`.

    A container started without a mounted config should come up healthy and say what
    is missing rather than crash-loop, so an implicit path ($AGGREGATOR_CONFIG or the
    default name) that does not exist falls back, with a warning. A path the user typed
    (`--config`) must exist: a typo there should fail, not run an empty service.
    """
    if not fall_back or path.exists():
        return path
    log.warning(
        "no config file at %s: using the built-in default, which polls nothing and "
        "publishes no topics", path,
        extra={"event": "config_default", "config": str(path)},
    )
    return BUILTIN_CONFIG


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read, parse and validate a TOML config file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(path, [f"cannot read the file: {error.strerror or error}"]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigError(path, [f"not UTF-8 text: {error}"]) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, [f"TOML syntax error: {error}"]) from None
    return parse_config(data, path=path, environ=environ, source_text=raw.decode("utf-8"))


def redact_url(url: str) -> str:
    """Hide a password in a URL so it can be logged or printed.

    Both places libpq reads one from are covered: `user:password@host` and a
    `?password=` query parameter.
    """
    password = urlsplit(url).password
    if password is not None:
        url = url.replace(f":{password}@", ":***@", 1)
    head, mark, query = url.partition("?")
    return head + mark + _QUERY_PASSWORD_RE.sub(r"\1***", query)


_QUERY_PASSWORD_RE = re.compile(r"((?:^|&)password=)[^&]*", re.IGNORECASE)
