"""Load and validate a labeled corpus folder: every `*.toml` part but topics.toml.

The parts are written by several people at once, so the loader merges them (outlets and
issuers are shared by key; items must have unique ids across all parts) and names the
file, the item id and the problem for anything it cannot use, all problems at once.
It also does what the data format promises the bench does: a `copy_of` item takes the
text of the item it copies (title/summary overridable), a wire item's lead gets its
outlet's dateline, and an issuer's boilerplate is appended to its releases' bodies.
"""

from __future__ import annotations

import re
import tomllib
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

Kind = Literal["stories", "relevance"]
KINDS = ("wire", "newsroom", "news")
SHAPES = ("rss2", "rss2-dc", "atom", "rdf")
SKIP_FILES = frozenset({"topics.toml"})
# Copied field by field from the item a copy reproduces, unless the copy overrides it.
COPIED = ("title", "summary", "body", "issuer")
# Wire datelines as the services print them ("{date} /PRNewswire/ --"); others get "(NAME) --".
DATELINE_MARKS = {
    "pr newswire": "/PRNewswire/ --",
    "globenewswire": "(GLOBE NEWSWIRE) --",
    "business wire": "--(BUSINESS WIRE)--",
    "accesswire": "/ACCESSWIRE/ --",
    "ein presswire": "/EINPresswire.com/ --",
}
# A lead that already carries a wire dateline near its start (written by the corpus author).
HAS_DATELINE = re.compile(
    r"^.{0,90}?(/[A-Za-z.]+(?: [A-Za-z.]+)?/ ?--|\([A-Z .]+\) ?--|--\([A-Z .]+\)--)"
)


@dataclass(frozen=True)
class _Scope:
    """The outlets and issuers an item of one part can name: its part's first."""

    outlets: Mapping[str, Outlet]
    issuers: Mapping[str, Issuer]


class CorpusError(ValueError):
    """Every problem found in a corpus folder, one per line."""


@dataclass(frozen=True)
class Outlet:
    key: str
    name: str
    kind: str  # wire | newsroom | news
    shape: str  # rss2 | rss2-dc | atom | rdf
    link: str  # template with {slug} and {n}


@dataclass(frozen=True)
class Issuer:
    key: str
    name: str
    about: str = ""
    fls: str = ""
    contact: str = ""


@dataclass(frozen=True)
class Item:
    """One corpus item as the bench publishes it, with its gold labels."""

    id: str
    part: str  # file stem: "biotech", "general", "car-t-lupus", ...
    outlet: Outlet
    issuer: Issuer | None
    published: datetime
    title: str
    summary: str  # the lead, with the outlet's dateline on wires
    body: str  # the author's paragraphs, before any boilerplate
    link: str
    story: str = ""  # stories corpus: the gold event
    siblings: str = ""  # stories corpus: a confusable set (part-qualified)
    labels: frozenset[str] = frozenset()  # relevance corpus: the gold topics
    trap: str = ""  # relevance corpus: what the item exercises
    copy_of: str = ""
    boilerplate: tuple[tuple[str, str], ...] = ()  # (about|fls|contact, text) appended

    @property
    def paragraphs(self) -> list[str]:
        """Lead, body paragraphs, then the boilerplate: the text the feed carries."""
        body = [p.strip() for p in re.split(r"\n\s*\n", self.body) if p.strip()]
        return [self.summary, *body, *(text for _, text in self.boilerplate)]

    def segments(self) -> list[tuple[str, str]]:
        """(where, text) for each part of the item, to say where a term occurred."""
        return [
            ("title", self.title),
            ("summary", self.summary),
            ("body", self.body),
            *self.boilerplate,
        ]


@dataclass
class Corpus:
    kind: Kind
    folder: Path
    items: list[Item]
    outlets: dict[str, Outlet]
    parts: list[str] = field(default_factory=list)

    def by_id(self) -> dict[str, Item]:
        return {item.id: item for item in self.items}


def load_corpus(folder: Path, kind: Kind) -> Corpus:
    """Load every part of `folder`; raise CorpusError listing every problem found."""
    files = sorted(p for p in Path(folder).glob("*.toml") if p.name not in SKIP_FILES)
    if not files:
        raise CorpusError(f"{folder}: no *.toml corpus parts")
    problems: list[str] = []
    outlets: dict[str, Outlet] = {}  # by key; a part's own variant under "key-part"
    all_issuers: dict[str, Issuer] = {}  # a copy may name an issuer of another part
    raw_items: list[tuple[Path, dict[str, Any], _Scope]] = []
    for path in files:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            problems.append(f"{path.name}: not valid TOML: {exc}")
            continue
        own = _part_outlets(path, data.get("outlets", {}), outlets, problems)
        issuers = {k: _issuer(k, v) for k, v in data.get("issuers", {}).items()}
        for key, issuer in issuers.items():
            all_issuers.setdefault(key, issuer)
        scope = _Scope(ChainMap(own, outlets), ChainMap(issuers, all_issuers))
        raw_items.extend((path, spec, scope) for spec in data.get("items", []))
    items = _resolve(raw_items, kind, problems)
    if problems:
        raise CorpusError("\n".join(problems))
    return Corpus(kind, Path(folder), items, outlets, [p.stem for p in files])


def _outlet(path: Path, key: str, spec: Mapping[str, Any], problems: list[str]) -> Outlet | None:
    where = f"{path.name}: outlets.{key}"
    kind, shape = spec.get("kind", "news"), spec.get("shape", "rss2")
    bad = [
        f"kind {kind!r} is not one of {KINDS}" if kind not in KINDS else "",
        f"shape {shape!r} is not one of {SHAPES}" if shape not in SHAPES else "",
        "link template has no {slug} or {n}"
        if "link" in spec and not re.search(r"\{(slug|n)\}", spec["link"])
        else "",
    ]
    problems.extend(f"{where}: {b}" for b in bad if b)
    if any(bad):
        return None
    default_link = f"https://{key}.example.com/news/{{slug}}-{{n}}"
    return Outlet(key, spec.get("name", key), kind, shape, spec.get("link", default_link))


def _part_outlets(
    path: Path, specs: Mapping[str, Any], outlets: dict[str, Outlet], problems: list[str]
) -> dict[str, Outlet]:
    """A part's outlets by the keys its items use; registered in `outlets` too.

    Parts written by different people may give one outlet key another kind or shape; then
    that part gets a feed of its own (key "businesswire-general") instead of an error.
    """
    own: dict[str, Outlet] = {}
    for key, spec in specs.items():
        outlet = _outlet(path, key, spec, problems)
        if outlet is None:
            continue
        first = outlets.setdefault(key, outlet)
        if (first.kind, first.shape) != (outlet.kind, outlet.shape):
            outlet = replace(outlet, key=f"{key}-{path.stem}")
            outlets[outlet.key] = outlet
        own[key] = outlets[outlet.key]
    return own


def _issuer(key: str, spec: Mapping[str, Any]) -> Issuer:
    return Issuer(
        key,
        spec.get("name", key),
        spec.get("about", "").strip(),
        spec.get("fls", "").strip(),
        spec.get("contact", "").strip(),
    )


def _resolve(
    raw: list[tuple[Path, dict[str, Any], _Scope]], kind: Kind, problems: list[str]
) -> list[Item]:
    specs: dict[str, tuple[Path, dict[str, Any], _Scope]] = {}
    for path, spec, scope in raw:
        item_id = spec.get("id")
        if not isinstance(item_id, str) or not item_id:
            problems.append(f"{path.name}: an item has no id (title {spec.get('title')!r})")
        elif item_id in specs:
            problems.append(
                f"{path.name}: item {item_id}: duplicate id (also in {specs[item_id][0].name})"
            )
        else:
            specs[item_id] = (path, spec, scope)
    merged = {item_id: _with_copied_fields(item_id, specs, problems) for item_id in specs}
    items: list[Item] = []
    links: dict[str, str] = {}
    for n, (item_id, (path, _spec, scope)) in enumerate(specs.items()):
        item = _item(path, item_id, merged[item_id], scope, kind, n, problems)
        if item is None:
            continue
        if item.link in links:
            problems.append(
                f"{path.name}: item {item_id}: link {item.link} repeats {links[item.link]}"
            )
        links[item.link] = item_id
        items.append(item)
    return items


def _with_copied_fields(
    item_id: str, specs: Mapping[str, tuple[Path, dict[str, Any], Any]], problems: list[str]
) -> dict[str, Any]:
    """The item's fields with copy_of chains followed (the copy's own fields win)."""
    path, spec, _ = specs[item_id]
    result, seen, current = dict(spec), {item_id}, spec
    while source := current.get("copy_of"):
        if source not in specs:
            problems.append(f"{path.name}: item {item_id}: copy_of {source!r} does not exist")
            break
        if source in seen:
            problems.append(f"{path.name}: item {item_id}: copy_of loops through {source!r}")
            break
        seen.add(source)
        current = specs[source][1]
        for key in (*COPIED, "story"):
            if key in current and key not in result:
                result[key] = current[key]
    return result


def _item(
    path: Path,
    item_id: str,
    spec: Mapping[str, Any],
    scope: _Scope,
    kind: Kind,
    n: int,
    problems: list[str],
) -> Item | None:
    where = f"{path.name}: item {item_id}"
    before = len(problems)
    outlet = scope.outlets.get(spec.get("outlet", ""))
    if outlet is None:
        problems.append(f"{where}: unknown outlet {spec.get('outlet')!r}")
    issuer = scope.issuers.get(spec["issuer"]) if spec.get("issuer") else None
    if spec.get("issuer") and issuer is None:
        problems.append(f"{where}: unknown issuer {spec.get('issuer')!r}")
    published = _date(spec.get("published"))
    if published is None:
        problems.append(f"{where}: bad date {spec.get('published')!r} (want 2026-03-02T13:05:00Z)")
    for key in ("title", "summary"):
        if not str(spec.get(key, "")).strip():
            problems.append(f"{where}: no {key}")
    gold = _gold(spec, kind, path.stem)
    problems.extend(f"{where}: {problem}" for problem in gold.pop("problems"))
    if len(problems) > before or outlet is None or published is None:
        return None
    title = " ".join(str(spec["title"]).split())
    return Item(
        id=item_id,
        part=path.stem,
        outlet=outlet,
        issuer=issuer,
        published=published,
        title=title,
        summary=_dateline(" ".join(str(spec["summary"]).split()), outlet, published),
        body=str(spec.get("body", "")).strip(),
        link=_link(outlet, title, n),
        copy_of=spec.get("copy_of", ""),
        boilerplate=_boilerplate(issuer, outlet, kind),
        **gold,
    )


def _gold(spec: Mapping[str, Any], kind: Kind, part: str) -> dict[str, Any]:
    """The gold fields the corpus kind needs, and what is wrong with them."""
    if kind == "stories":
        story = spec.get("story")
        problems = [] if isinstance(story, str) and story else ["no story label"]
        siblings = f"{part}:{spec['siblings']}" if spec.get("siblings") else ""
        return {"story": story or "", "siblings": siblings, "problems": problems}
    labels = spec.get("labels")
    problems = [] if isinstance(labels, list) else ["no labels list"]
    return {
        "labels": frozenset(labels or ()),
        "trap": str(spec.get("trap", "")),
        "problems": problems,
    }


def _date(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _dateline(lead: str, outlet: Outlet, published: datetime) -> str:
    """A wire lead opens with its wire's dateline; an author's own one is re-marked."""
    if outlet.kind != "wire":
        return lead
    mark = DATELINE_MARKS.get(outlet.name.lower(), f"({outlet.name.upper()}) --")
    found = HAS_DATELINE.match(lead)
    if found:  # Business Wire's mark joins city and text; the others stand between spaces
        pad = "" if mark.startswith("--") else " "
        before, after = lead[: found.start(1)].rstrip(), lead[found.end(1) :].lstrip()
        return f"{before}{pad}{mark}{pad}{after}"
    date = f"{published:%b}. {published.day}, {published.year}".replace("May.", "May")
    return f"{date} {mark} {lead}"


def _link(outlet: Outlet, title: str, n: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:80].strip("-")
    return outlet.link.format(slug=slug, n=302_100_000 + n)


def _boilerplate(issuer: Issuer | None, outlet: Outlet, kind: Kind) -> tuple[tuple[str, str], ...]:
    """What the issuer repeats: on its releases (stories), on all its items (relevance)."""
    if issuer is None or (kind == "stories" and outlet.kind == "news"):
        return ()
    parts = (("about", issuer.about), ("fls", issuer.fls), ("contact", issuer.contact))
    return tuple((name, text) for name, text in parts if text)
