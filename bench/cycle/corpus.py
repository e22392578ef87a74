"""A deterministic corpus of realistic newswire feeds for the cycle benchmark.

Shape (issues 5 and 18): 1,000 feeds, 20-100 items each, 30-250 KB each, HTML
summaries with entities and CDATA, a few percent of items on the demo topic (CAR-T in
lupus). A fifth of the items are copies of a press release that also runs on another
wire (own link, GUID and dateline), so dedupe does real work. Formats, content types,
encodings and publisher habits are drawn per feed in real-world proportions
(`shapes`: RSS 2.0, Atom with both author elements and xml:base, RSS 1.0/RDF, JSON
Feed, text/xml without charset, octet-stream, ISO-8859-1 and windows-1252, and about
one feed in 130 that only feedparser reads); `render` writes the documents.

Version 0 of every feed is what the cold and warm cycles see; version 1 exists for
the `changed` fraction of feeds, each with a few new items on top and as many old
ones dropped, which is what a wire looks like between two polls.

The corpus is written once per (seed, shape) into a cache folder, so repeated runs
of the benchmark skip the generation.
"""

from __future__ import annotations

import hashlib
import json
import random
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.cycle.render import Context, Release, render
from bench.cycle.shapes import draw

GENERATOR_VERSION = 5

COMPANIES = [
    "Nuvexa Bio",
    "Orbital Pharma",
    "Helixor Therapeutics",
    "Cardient Medical",
    "Lumora Health",
    "Veritas Oncology",
    "Brightwell Labs",
    "Kestrel Biosciences",
    "Aurelia Genomics",
    "Sablewood Pharmaceuticals",
    "Quantis Diagnostics",
    "Meridian Cell Therapy",
    "Tessaly Bio",
    "Northgate Devices",
    "Crescent Immunology",
    "Pallas Neuroscience",
    "Ardent Vaccines",
    "Solstice Biologics",
    "Ironbridge Capital",
    "Halcyon Energy",
    "Granite Foods",
    "Beacon Retail Group",
    "Coastal Logistics",
    "Summit Software",
    "Evergreen Insurance",
]
CITIES = [
    "BOSTON",
    "SAN DIEGO",
    "CAMBRIDGE, Mass.",
    "SOUTH SAN FRANCISCO, Calif.",
    "NEW YORK",
    "PRINCETON, N.J.",
    "BASEL, Switzerland",
    "SHANGHAI",
    "LONDON",
    "TORONTO",
    "MUNICH",
    "PARIS",
    "TOKYO",
    "SEATTLE",
    "AUSTIN, Texas",
    "CHICAGO",
    "Z\u00dcRICH",
    "MONTR\u00c9AL",
]
AREAS = [
    "rheumatoid arthritis",
    "multiple myeloma",
    "type 2 diabetes",
    "heart failure",
    "non-small cell lung cancer",
    "psoriasis",
    "Crohn's disease",
    "obesity",
    "melanoma",
    "Alzheimer's disease",
    "sickle cell disease",
    "hemophilia A",
    "ulcerative colitis",
    "atopic dermatitis",
    "glioblastoma",
    "myasthenia gravis",
    "multiple sclerosis",
]
EVENTS = [
    "Announces Positive Topline Results From Phase {phase} Trial of {drug} in {area}",
    "Receives FDA Clearance of IND for {drug} in {area}",
    "Reports {quarter} {year} Financial Results and Business Update",
    "Doses First Patient in Phase {phase} Study of {drug} for {area}",
    "Presents New Data on {drug} at the {meeting} Annual Meeting",
    "Enters Strategic Collaboration With {partner} to Develop {drug}",
    "Completes Enrollment in Pivotal Trial of {drug} in {area}",
    "Announces Pricing of ${amount} Million Public Offering",
    "Appoints New Chief Medical Officer to Lead {drug} Program",
    "Receives Breakthrough Therapy Designation for {drug} in {area}",
]
TOPIC_EVENTS = [
    "Doses First Patient With CAR-T Therapy {drug} in Systemic Lupus Erythematosus",
    "Reports Drug-Free Remission in Lupus Nephritis With CD19 CAR T-Cell Therapy {drug}",
    "Receives IND Clearance for Allogeneic CAR-T {drug} in Refractory SLE",
]
MEETINGS = ["ASCO", "ASH", "EULAR", "ACR Convergence", "ESMO", "AACR", "ADA Scientific"]
SENTENCES = [
    "The {phase_word} study enrolled {patients} patients across {sites} sites in the "
    "United States, Europe &amp; Asia.",
    "&ldquo;We are encouraged by these results,&rdquo; said {person}, Chief Executive "
    "Officer of {company}.",
    "The primary endpoint was met with a statistically significant improvement "
    "(p&lt;0.001) versus placebo at week {week}.",
    "{drug} was generally well tolerated, and the safety profile was consistent with "
    "previous studies&nbsp;&mdash; no new safety signals were observed.",
    "Management will host a conference call and webcast today at 8:00&nbsp;a.m. ET to "
    "discuss the results.",
    "Revenue for the quarter was ${revenue} million, compared with ${revenue2} million "
    "for the same period last year.",
    "The company expects to submit a Biologics License Application in the second half "
    "of {year}, subject to discussions with regulators.",
    "{company}&#8217;s pipeline includes programs in {area} and {area2}, with additional "
    "data expected at the {meeting} meeting.",
    "Under the agreement, {partner} will pay an upfront fee of ${amount} million and up "
    "to ${amount2} million in milestone payments, plus tiered royalties.",
    "Forward-looking statements in this release are subject to risks and uncertainties "
    "described in the company&rsquo;s filings with the Securities &amp; Exchange Commission.",
    'For more information, visit <a href="https://www.{domain}/investors">the company&#39;s '
    "website</a> or contact <em>investor relations</em>.",
    "Patients treated with {drug} showed a mean reduction of {pct}% in disease activity "
    "scores, with r&eacute;sum&eacute; of benefit sustained through month {week}.",
]
TOPIC_SENTENCES = [
    "CAR-T cell therapy has produced drug-free remission in patients with systemic lupus "
    "erythematosus (SLE) refractory to standard treatment.",
    "The trial evaluates {drug}, an autologous CD19-directed CAR T-cell therapy, in adults "
    "with active lupus nephritis.",
]
PEOPLE = [
    "Jane Smith",
    "Rafael Ortiz",
    "Mei Lin",
    "Oluwaseun Adeyemi",
    "Anna M&uuml;ller",
    "Lars Nystr&ouml;m",
    "Priya Raman",
    "Tom&aacute;s Garc&iacute;a",
]
CATEGORIES = [
    "Biotechnology",
    "Health",
    "Clinical Trials &amp; Medical Discoveries",
    "Pharmaceuticals",
    "Earnings",
    "Mergers &amp; Acquisitions",
    "Medical Devices",
]
SUFFIXES = {"rss": "xml", "atom": "atom", "rdf": "rdf", "json": "json"}
WIRE_NAMES = ["Newswire", "Wire", "Press", "News Service", "Releases", "Media"]
FUNCTION_WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "for",
    "with",
    "on",
    "its",
    "a",
    "said",
    "from",
    "by",
    "as",
    "that",
    "new",
    "will",
    "has",
    "at",
    "an",
    "this",
]
SYLLABLES = [
    "ka",
    "lo",
    "ven",
    "tri",
    "mar",
    "do",
    "sel",
    "qua",
    "ri",
    "pon",
    "te",
    "bri",
    "stal",
    "gu",
    "ner",
    "os",
    "vil",
    "cam",
    "de",
    "ro",
    "lin",
    "pa",
    "xe",
    "mun",
]


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One generated feed: where it is served and what kind it is."""

    name: str
    path: str  # URL path on the bench server, also the file name under v0/ and v1/
    kind: str  # "rss" | "atom" | "rdf" | "json"
    items: int
    changed: bool  # has a version 1
    content_type: str | None  # as the bench server labels it; None: no header
    feedparser_only: str  # why only feedparser reads it, or ""


class _Words:
    def __init__(self, rng: random.Random):
        self.rng = rng
        # Real leads share few three-word sequences; a large vocabulary keeps the
        # generated ones apart, so dedupe sees the collisions it would see in the wild.
        self.vocabulary = list(
            {"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(6000)}
        )

    def sentence(self) -> str:
        rng = self.rng
        words = [
            rng.choice(FUNCTION_WORDS) if rng.random() < 0.35 else rng.choice(self.vocabulary)
            for _ in range(rng.randint(12, 24))
        ]
        return " ".join(words).capitalize() + "."

    def drug(self) -> str:
        letters = "".join(self.rng.choice("ABCDEFGHKLMNPRSTVXZ") for _ in range(3))
        return f"{letters}-{self.rng.randint(100, 999)}"

    def fill(self, template: str, company: str, drug: str) -> str:
        rng = self.rng
        return template.format(
            phase=rng.choice(["1", "1/2", "2", "2b", "3"]),
            phase_word=rng.choice(["Phase 1", "Phase 2", "Phase 3", "pivotal", "registrational"]),
            drug=drug,
            area=rng.choice(AREAS),
            area2=rng.choice(AREAS),
            quarter=rng.choice(["First Quarter", "Second Quarter", "Third Quarter"]),
            year=rng.choice([2025, 2026]),
            meeting=rng.choice(MEETINGS),
            partner=rng.choice(COMPANIES),
            amount=rng.randint(20, 900),
            amount2=rng.randint(1000, 4000),
            patients=rng.randint(24, 1800),
            sites=rng.randint(5, 160),
            person=rng.choice(PEOPLE),
            company=company,
            week=rng.choice([12, 24, 26, 48, 52]),
            revenue=rng.randint(5, 900),
            revenue2=rng.randint(5, 900),
            pct=rng.randint(12, 78),
            domain=company.lower().replace(" ", "") + ".example",
        )

    def release(self, published: datetime, target_bytes: int, topic: bool) -> Release:
        rng = self.rng
        company = rng.choice(COMPANIES)
        drug = self.drug()
        event = rng.choice(TOPIC_EVENTS if topic else EVENTS)
        title = f"{company} {self.fill(event, company, drug)}"
        paragraphs: list[str] = []
        size = 0
        pool = SENTENCES + (TOPIC_SENTENCES * 3 if topic else [])
        while size < target_bytes:
            count = rng.randint(2, 4)
            if not paragraphs:  # the lead: what this release, and only this one, says
                text = " ".join(
                    [self.sentence() for _ in range(count)]
                    + [self.fill(rng.choice(pool), company, drug)]
                )
            else:
                text = " ".join(
                    self.fill(rng.choice(pool), company, drug)
                    if rng.random() < 0.5
                    else self.sentence()
                    for _ in range(count)
                )
            paragraphs.append(text)
            size += len(text) + 7
        return Release(title, paragraphs, company, published, topic)


def generate(folder: Path, *, feeds: int, changed: float, seed: int) -> list[FeedSpec]:
    """Write v0/ (every feed) and v1/ (the changed ones) under `folder`; return the specs."""
    rng = random.Random(seed)
    words = _Words(rng)
    now = datetime.now(UTC).replace(microsecond=0)
    shared: list[Release] = []
    specs: list[FeedSpec] = []
    changed_set = set(rng.sample(range(feeds), round(feeds * changed)))
    for folder_name in ("v0", "v1"):
        (folder / folder_name).mkdir(parents=True, exist_ok=True)
    serial = 300_000_000
    for index in range(feeds):
        shape = draw(rng, index)
        count = rng.randint(20, 100)
        target = min(250_000, max(30_000, int(count * rng.uniform(1400, 2600))))
        per_item = target // count
        name = f"Wire {index:04d}"
        path = f"{index:04d}.{SUFFIXES[shape.kind]}"
        wire = (
            f"{rng.choice(['Global', 'Pacific', 'Atlantic', 'Metro', 'Bio', 'Market'])} "
            f"{rng.choice(WIRE_NAMES)} {index:04d}"
        )
        ctx = Context(shape, wire, rng.choice(CITIES), rng.random() < 0.6, CATEGORIES)
        entries: list[tuple[Release, int]] = []
        when = now - timedelta(minutes=rng.randint(5, 120))
        for _ in range(count + 8):  # a few spare (older) releases for version 1's drops
            if shared and rng.random() < 0.2:
                release = rng.choice(shared)  # a syndicated copy of another wire's release
            else:
                # markup, escaping and entities add about a quarter to the text's size
                release = words.release(
                    when, int((per_item - 450) / 1.25), topic=rng.random() < 0.03
                )
                if rng.random() < 0.3:
                    shared.append(release)
            serial += 1
            entries.append((release, serial))
            when -= timedelta(minutes=rng.randint(20, 240))
        # newest first: version 0 shows entries[8:], version 1 the 3-8 newer ones on top
        fresh = rng.randint(3, 8)
        document = render(name, ctx, entries[8 : 8 + count])
        while len(document) > 250_000 and count > 20:  # long syndicated copies: trim
            count -= 1
            document = render(name, ctx, entries[8 : 8 + count])
        spec = FeedSpec(
            name=name,
            path=f"/feeds/{path}",
            kind=shape.kind,
            items=count,
            changed=index in changed_set,
            content_type=shape.content_type,
            feedparser_only=shape.feedparser_only,
        )
        (folder / "v0" / path).write_bytes(document)
        if spec.changed:
            newer = [(r, s) for r, s in entries[8 - fresh : 8]]
            newer = [(Release(r.title, r.paragraphs, r.company, now, r.topic), s) for r, s in newer]
            (folder / "v1" / path).write_bytes(
                render(name, ctx, newer + entries[8 : 8 + count - fresh])
            )
        specs.append(spec)
    (folder / "manifest.json").write_text(json.dumps([asdict(s) for s in specs]))
    return specs


def load_or_generate(*, feeds: int, changed: float, seed: int) -> tuple[Path, list[FeedSpec]]:
    """The cached corpus folder for these parameters, generated on first use."""
    key = hashlib.sha1(f"{GENERATOR_VERSION}:{feeds}:{changed}:{seed}".encode()).hexdigest()[:10]
    folder = Path(tempfile.gettempdir()) / f"newswire-bench-corpus-{key}"
    manifest = folder / "manifest.json"
    if manifest.exists() and time.time() - manifest.stat().st_mtime < 3 * 86400:
        return folder, [FeedSpec(**spec) for spec in json.loads(manifest.read_text())]
    return folder, generate(folder, feeds=feeds, changed=changed, seed=seed)
