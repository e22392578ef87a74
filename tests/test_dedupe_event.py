"""Event evidence (aggregator.core.dedupe.event): a rewrite joins the release it
reports; look-alike events of the same kind stay apart. Plain dataclasses, no store."""

from __future__ import annotations

from aggregator.core.dedupe import fingerprint
from aggregator.core.dedupe.event import (
    EVENT_HOURS,
    EventFeatures,
    TermStats,
    event_features,
    weigh_event,
)

RELEASE = (
    "CARsgen's Allogeneic CD19/CD20 CAR-T Therapy Administers First Dose in a Patient "
    "With Autoimmune Disease",
    "SHANGHAI, Nov. 9, 2026 /PRNewswire/ -- CARsgen Therapeutics Holdings Limited (Stock "
    "Code: 2171.HK) announced that its allogeneic CD19/CD20 CAR-T product candidate "
    "KJ-C2219 has been administered to the first patient with systemic lupus "
    "erythematosus (SLE) in an investigator-initiated trial in Shanghai.",
)
REWRITE = (
    "CARsgen doses first lupus patient with off-the-shelf CD19/CD20 CAR-T",
    "CARsgen Therapeutics has dosed the first patient with systemic lupus erythematosus "
    "with KJ-C2219, an allogeneic CAR-T aimed at CD19 and CD20, as the race to bring "
    "off-the-shelf cell therapies to autoimmune disease heats up. The Shanghai company "
    "said the investigator-initiated trial will enroll patients with refractory disease.",
)
LOOKALIKE = (
    "Lumora Cell Therapeutics Doses First Patient With CD19 CAR-T in Lupus Nephritis",
    "BOSTON, Nov. 10, 2026 /PRNewswire/ -- Lumora Cell Therapeutics (Nasdaq: LMRA) "
    "announced that the first patient with lupus nephritis has been dosed with LMR-301, "
    "its autologous CD19 CAR-T, in the Phase 1 LUMINA-1 trial in Boston.",
)
BACKGROUND = [
    ("Granite Foods opens a bakery in Ohio", "Granite Foods said it opened a bakery."),
    ("Port of Rotterdam reports record volumes", "The Dutch port handled more containers."),
    ("Kestrel Motors recalls pickups", "Kestrel Motors recalled 150,000 pickups in the U.S."),
]


def stats_of(*texts: tuple[str, str]) -> TermStats:
    stats = TermStats()
    for title, text in [*texts, *BACKGROUND]:
        stats.add(event_features(title, text))
    return stats


def weigh(a: tuple[str, str], b: tuple[str, str], hours: float = 3.0):
    fa, fb = fingerprint(*a), fingerprint(*b)
    return weigh_event(fa.event, fb.event, fa.anchors, fb.anchors, hours,
                       stats_of(RELEASE, REWRITE, LOOKALIKE))


def test_a_rewrite_in_other_words_is_the_same_event() -> None:
    evidence = weigh(RELEASE, REWRITE)
    assert evidence.same, evidence.describe()
    assert {"carsgen", "kj-c2219", "shanghai"} <= set(evidence.shared)


def test_the_same_kind_of_news_from_another_company_is_not() -> None:
    evidence = weigh(RELEASE, LOOKALIKE)
    assert not evidence.same
    assert any("different subjects" in veto for veto in evidence.vetoes), evidence.vetoes


def test_a_report_days_later_is_another_story() -> None:
    evidence = weigh(RELEASE, REWRITE, hours=EVENT_HOURS + 1)
    assert not evidence.same and not evidence.vetoes  # time alone decides


def test_analysis_never_joins_the_news_it_discusses() -> None:
    analysis = ("Analysis: CARsgen's first lupus dose and the off-the-shelf CAR-T race",
                REWRITE[1])
    evidence = weigh(RELEASE, analysis)
    assert not evidence.same
    assert "one is a piece of analysis or opinion, the other a report" in evidence.vetoes


def test_a_leading_clause_does_not_make_the_subject() -> None:
    features = event_features("One day after CARsgen, Lumora doses its first lupus patient",
                              "On Monday Lumora Cell Therapeutics dosed a patient; "
                              "CARsgen did so yesterday.")
    assert features.subject == "lumora"
    labelled = event_features("#ACR26: Lumora's CAR-T keeps lupus at bay",
                              "In Chicago, Lumora Cell Therapeutics presented data.")
    assert labelled.subject == "lumora"


def test_headlines_reporting_different_happenings_differ() -> None:
    appointment = ("CARsgen Appoints Jane Roe, M.D., as Chief Medical Officer",
                   "SHANGHAI -- CARsgen Therapeutics announced the appointment of Jane Roe.")
    offering = ("CARsgen Announces Pricing of Upsized $300 Million Public Offering",
                "SHANGHAI -- CARsgen Therapeutics priced its public offering.")
    evidence = weigh(appointment, offering)
    assert any("report different things" in veto for veto in evidence.vetoes)
    # "raises" in a headline may report any offering: no veto on that ground
    raise_news = ("CARsgen raises $300M after pricing upsized offering",
                  "CARsgen Therapeutics raised $300 million.")
    assert not any("report different things" in veto
                   for veto in weigh(offering, raise_news).vetoes)


def test_rare_names_weigh_more_than_common_words() -> None:
    stats = stats_of(RELEASE, REWRITE, LOOKALIKE)
    assert stats.idf("kj-c2219") > stats.idf("patient")


def test_features_survive_storage() -> None:
    features = event_features(*REWRITE)
    assert EventFeatures.from_dict(features.to_dict()) == features
