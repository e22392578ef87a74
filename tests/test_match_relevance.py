"""Match strength (issue 17): where a hit is, passing mentions, homonyms, synonyms, score.

Each mechanism on plain MatchDocuments: no store, no feeds. The whole path (feeds, poll,
store) is measured by bench/bench_relevance.py on the labeled corpus.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from aggregator.config import Config, TopicConfig
from aggregator.core.match import (
    DEFAULT_MIN_SCORE,
    MatchDocument,
    ParagraphCounts,
    RuleError,
    compile_topics,
)
from aggregator.core.match.abbreviations import best_long_form, definitions, initialism
from aggregator.core.match.passages import html_paragraphs, paragraph_key
from aggregator.models import TermHit, TopicMatch, hits_from_json, hits_to_json

ABOUT = (
    "About Novacell Therapeutics: Novacell is a clinical-stage company building CAR-T "
    "therapies for B-cell cancers and autoimmune disease. For more information, visit "
    "www.novacell.example."
)


def release(title: str, *paragraphs: str, source: str = "wire") -> MatchDocument:
    html = "".join(f"<p>{p}</p>" for p in paragraphs)
    return MatchDocument(
        title=title,
        summary=" ".join(paragraphs),
        content="",
        categories=[],
        author=None,
        source=source,
        summary_html=html,
    )


def judge(item: MatchDocument, *include: str, **rule: Any) -> TopicMatch:
    topic = TopicConfig(slug="t", title="T", include=list(include) or ["CAR-T"], **rule)
    [result] = compile_topics([topic]).match(item)
    return result


def places(result: TopicMatch) -> list[tuple[str, str, str]]:
    return [(hit.term, hit.location, hit.note) for hit in result.hits]


def test_hits_are_located_and_weighed_title_lead_body_boilerplate() -> None:
    item = release(
        "Novacell doses first patient with CAR-T in lupus",
        "Novacell today dosed the first patient with NC-19X, its CAR-T therapy.",
        "The trial will enroll 20 patients. " * 20 + "Each gets one CAR-T infusion.",
        ABOUT,
    )
    result = judge(item)
    assert result.matched
    assert [(h.location, h.weight) for h in result.hits] == [
        ("title", 3.0),
        ("lead", 2.0),
        ("body", 1.0),
        ("boilerplate", 0.1),
    ]
    assert result.hits[0].snippet == "Novacell doses first patient with CAR-T in lupus"
    assert "CAR-T therapies for B-cell cancers" in result.hits[3].snippet
    # 3 + 2/2 + 1/3 + 0.1/4: each further hit counts less
    assert result.score == pytest.approx(3 + 1 + 1 / 3 + 0.025)


def test_a_term_only_in_the_issuers_about_paragraph_does_not_make_the_topic() -> None:
    item = release(
        "Novacell appoints a Chief Financial Officer",
        "Novacell today named Rachel Osei CFO, effective June 15.",
        ABOUT,
    )
    result = judge(item)
    assert not result.matched
    assert places(result) == [("CAR-T", "boilerplate", "")]
    assert result.reason == (
        f"include: score 0.10 below {DEFAULT_MIN_SCORE:.2f} (min_score): 'CAR-T' in boilerplate"
    )


@pytest.mark.parametrize(
    "start",
    [
        "About Novacell",
        "Forward-Looking Statements",
        "Safe Harbor Statement",
        "Media Contact:",
        "Investor Contacts",
        "SOURCE Novacell Therapeutics",
        "Cautionary Note Regarding",
    ],
)
def test_standard_release_sections_are_boilerplate(start: str) -> None:
    item = release(
        "Quarterly results",
        "Revenue rose 4% in the quarter.",
        f"{start} statements about CAR-T programs and risks.",
    )
    assert places(judge(item, min_score=0)) == [("CAR-T", "boilerplate", "")]


def test_a_section_heading_alone_makes_the_paragraphs_after_it_boilerplate() -> None:
    item = release(
        "Quarterly results",
        "Revenue rose 4%.",
        "About Novacell",
        "Novacell builds CAR-T therapies.",
        "Contact: press@novacell.example",
    )
    assert places(judge(item, min_score=0)) == [("CAR-T", "boilerplate", "")]


def test_paragraphs_a_source_repeats_are_learned_as_boilerplate() -> None:
    pitch = (
        "Kelvara Bio is a clinical-stage company whose lead CAR-T candidate is in a "
        "Phase 1/2 trial in 2026."
    )
    counts = ParagraphCounts()
    for year in (2024, 2025):  # the digits change, the paragraph is the same
        counts.add("wire", [f"<p>News of {year}.</p><p>{pitch.replace('2026', str(year))}</p>"])
    counts.add("other", [f"<p>{pitch}</p>"])
    item = release("Kelvara names a new CFO", "Kelvara named a CFO today.", pitch)
    item.repeated = counts.repeated("wire")
    assert places(judge(item, min_score=0)) == [("CAR-T", "boilerplate", "")]
    assert counts.repeated("other") == frozenset()
    item.repeated = frozenset()  # not learned: it is body text
    assert places(judge(item, min_score=0)) == [("CAR-T", "body", "")]


@pytest.mark.parametrize(
    ("sentence", "cue"),
    [
        (
            "Unlike CAR-T therapies, which are made from each patient's cells, LB-220 is "
            "produced in advance.",
            "comparison",
        ),
        (
            "Its price is almost four times that of autologous CAR-T products today.",
            "comparison",
        ),
        (
            "TILs attack several antigens at once, whereas CAR-T cells see a single target.",
            "comparison",
        ),
        (
            "The company sells generics for malaria, rheumatoid arthritis, lupus and psoriasis.",
            "list",
        ),
        (
            "Dr. Okafor previously served as head of the CAR-T program at a large drugmaker.",
            "biography",
        ),
    ],
)
def test_passing_mentions_are_discounted_not_dropped(sentence: str, cue: str) -> None:
    item = release("Company news", "The company reported results today. " * 12, sentence)
    result = judge(item, "CAR-T", "lupus", min_score=0)
    assert [(hit.location, hit.note, hit.weight) for hit in result.hits] == [
        ("body", cue, pytest.approx(0.2)),
    ]


def test_an_appositive_or_a_number_is_not_a_list() -> None:
    lead = (
        "Novacell dosed the first patient with NC-19X, its CD19 CAR-T therapy, in "
        "NOVA-1, a Phase 1 trial in 1,140 patients with lupus, the company said."
    )
    result = judge(release("Trial news", lead), "CAR-T", "lupus")
    assert [note for _, _, note in places(result)] == ["", ""]


def test_a_headline_term_the_text_mentions_only_in_passing_counts_as_passing() -> None:
    item = release(
        "Bispecifics close in on CAR-T territory in myeloma",
        "Bispecific antibodies are gaining ground with community oncologists.",
        "Unlike CAR-T, which requires referral to a certified center, they "
        "can be given in the clinic.",
    )
    result = judge(item)
    assert not result.matched
    assert places(result)[0] == ("CAR-T", "title", "the text mentions it only in passing")


def test_short_all_caps_terms_match_as_written() -> None:
    assert not judge(release("Ms. Osei joins the board", "Ms. Osei was CFO."), "MS").hits
    assert not judge(release("Car-T, the electric trailer", "The Car-T tows itself.")).hits
    assert judge(release("CAR T cell therapy", "CAR T cells in lymphoma.")).matched
    # written in lowercase by the curator: any case
    assert judge(release("Car-T trailer", "Car-T tows itself."), "car-t").matched


def test_an_abbreviation_the_item_defines_as_something_else_counts_nothing() -> None:
    item = release(
        "Vantor launches SLE plates",
        "Vantor introduced plates for its Solid Lipid Emulsion (SLE) platform.",
    )
    result = judge(item, "lupus", "SLE", "systemic lupus erythematosus")
    assert not result.matched
    assert {hit.note for hit in result.hits} == {"stands for 'Solid Lipid Emulsion' here"}
    related = release(
        "SLE trial starts", "The trial enrolls adults with systemic lupus erythematosus (SLE)."
    )
    assert judge(related, "lupus", "SLE").matched


def test_an_abbreviation_never_spelled_out_is_weak_evidence() -> None:
    result = judge(
        release("2026 GMC Sierra SLE review", "The SLE trim is the one to buy."), "lupus", "SLE"
    )
    assert not result.matched
    assert {hit.note for hit in result.hits} == {"abbreviation never spelled out in the item"}


@pytest.mark.parametrize(
    ("title", "text", "include"),
    [
        ("SLE patients see fewer flares on drug", "Patients stayed on the drug.", ("lupus", "SLE")),
        ("Relapsing MS drug approved", "It cut relapses by half.", ("multiple sclerosis", "MS")),
    ],
)
def test_a_bare_abbreviation_among_its_fields_words_counts_in_full(
    title: str, text: str, include: tuple[str, ...]
) -> None:
    result = judge(release(title, text), *include)
    assert result.matched and not any(hit.note for hit in result.hits)
    assert "never spelled out, read in the topic's field by" in result.reason
    # without the synonym set the topic has no domain, and the same words show nothing
    assert not judge(release(title, text), *include, synonyms=False).matched


def test_one_cue_word_does_not_settle_an_abbreviations_sense() -> None:
    item = release("MS Access still runs the ministry", "Staff there keep patient records.")
    assert not judge(item, "multiple sclerosis", "MS").matched


def test_an_abbreviation_after_a_naming_word_starts_a_name() -> None:
    item = release(
        "Expedition ship MS Polar Gannet rescues fishing crew",
        "The crew were treated for hypothermia by the ship MS Polar Gannet's doctor.",
    )
    result = judge(item, "multiple sclerosis", "MS")
    assert not result.matched
    assert {hit.note for hit in result.hits} == {"used as a name"}


def test_a_long_form_may_hold_an_abbreviated_word() -> None:
    text = "Mosquitoes tested positive for St. Louis encephalitis (SLE) virus. Dr. Ames said so."
    assert definitions(text) == {"SLE": "St. Louis encephalitis"}
    item = release("County confirms SLE virus", text + " Patients with symptoms should call.")
    assert not judge(item, "lupus", "SLE").matched


def test_a_body_sentence_defining_the_headlines_code_weighs_like_the_lead() -> None:
    lead = (
        "Kyverna, a company developing cell therapies for autoimmune disease, today "
        "announced positive topline results from its registrational trial."
    )
    defined = release(
        "Kyverna reports topline results for KYV-101 in stiff person syndrome",
        lead,
        "KYV-101 is an autologous, fully human CD19 CAR T-cell therapy candidate.",
    )
    result = judge(defined)
    assert result.matched
    assert [(hit.location, hit.weight) for hit in result.hits] == [("body", 2.0)]
    # the same words about another code, or not opening the sentence, are a body hit
    for sentence in (
        "KYV-202 is an autologous, fully human CD19 CAR T-cell therapy candidate.",
        "Unlike KYV-101, most CAR T-cell therapies are made for cancer.",
    ):
        other = release("Kyverna reports topline results for KYV-101 in SPS", lead, sentence)
        assert not judge(other).matched


@pytest.mark.parametrize(
    ("title", "text", "include"),
    [
        (
            "Lupus Foundation of America urges Congress to fund research",
            "The Lupus Foundation of America asked lawmakers to double research funding.",
            ("lupus",),
        ),
        (
            "National Multiple Sclerosis Society commits $20 million to progressive MS research",
            "The National Multiple Sclerosis Society will fund 30 projects on progression.",
            ("multiple sclerosis", "MS"),
        ),
    ],
)
def test_a_body_named_for_the_term_is_about_it(
    title: str, text: str, include: tuple[str, ...]
) -> None:
    result = judge(release(title, text), *include)
    assert result.matched and not any(hit.note for hit in result.hits)
    brewing = release("Lupus Brewing Co. opens a taproom", "Lupus Brewing Co. poured its IPA.")
    assert not judge(brewing, "lupus").matched


def test_an_acronym_spelled_by_capitals_elsewhere_counts_nothing() -> None:
    item = release(
        "CAR-T Red Line to open in August",
        "Capital Area Rapid Transit's CAR-T Red Line will open three months late.",
    )
    result = judge(item)
    assert not result.matched
    assert {hit.note for hit in result.hits} == {"stands for 'Capital Area Rapid Transit' here"}


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("Weekend news", "Lupus Rising won the Coastal Derby by two lengths in the rain."),
        ("Weekend news", "The company took delivery of the service vessel Lupus at the yard."),
        ("Weekend news", "Ecologists tracked Canis lupus moving into northern Ohio at last."),
        ("Two hurt in crash near Falmouth", "Two people were hurt on Wind Farm Road today."),
        ("Beer awards", "The brewery's 'Wind Turbine' double IPA won gold at the fair."),
        ("Indie folk band Wind Turbine tours", "Wind Turbine tours 22 cities, the band said."),
        ("Rental cottage 'The Wind Farm' wins award", "The Wind Farm sleeps eight guests."),
    ],
)
def test_a_word_or_phrase_used_as_a_name_counts_little(title: str, text: str) -> None:
    result = judge(release(title, text), "lupus", "wind farm", "wind turbine")
    assert not result.matched
    assert {hit.note for hit in result.hits} == {"used as a name"}


def test_a_disease_written_with_capitals_is_not_a_name() -> None:
    lead = "The company treats people living with Lupus and Lupus Nephritis in its trials."
    result = judge(release("Trial update", lead), "lupus")
    assert result.matched
    assert ("lupus nephritis", "lead", "") in places(result)
    capitals = release("Phase 2 data", "Adults with Systemic Lupus Erythematosus responded.")
    assert judge(capitals, "lupus").matched


def test_capitals_are_read_as_names_only_in_english_prose() -> None:
    assert judge(release("Systemischer Lupus erythematodes: neue Therapie"), "lupus").matched
    assert judge(
        release("Lupus Foundation funds research", "The grant supports people living with lupus."),
        "lupus",
    ).matched


def test_shipped_synonyms_come_with_a_head_term_and_are_named() -> None:
    item = release(
        "FDA widens label for Breyanzi",
        "The genetically modified autologous T cell immunotherapy is now approved "
        "after one prior line of therapy.",
    )
    result = judge(item)
    assert result.matched
    assert {(hit.term, hit.synonym_of) for hit in result.hits} == {
        ("Breyanzi", "CAR-T"),
        ("genetically modified autologous T cell immunotherapy", "CAR-T"),
    }
    assert not judge(item, "CAR-T", synonyms=False).hits
    # a member is not a head: "lupus nephritis" does not widen to all of lupus
    assert not judge(release("Belimumab news", "Belimumab sales rose."), "lupus nephritis").hits
    assert judge(release("Belimumab news", "Belimumab sales rose."), "lupus").matched


@pytest.mark.parametrize(
    ("term", "lead", "synonym"),
    [
        (
            "wind farm",
            "Survey vessels found munitions at the site of a planned wind park.",
            "wind park",
        ),
        (
            "offshore wind",
            "France awarded a 250 MW floating wind tender off Brittany.",
            "floating wind",
        ),
        (
            "multiple sclerosis",
            "The drug is approved for relapsing-remitting disease.",
            "relapsing-remitting disease",
        ),
        (
            "multiple sclerosis",
            "Vitamin D did not prevent a second attack after clinically isolated syndrome.",
            "clinically isolated syndrome",
        ),
    ],
)
def test_standard_and_label_wording_are_synonyms(term: str, lead: str, synonym: str) -> None:
    result = judge(release("News", lead), term)
    assert result.matched
    assert [(hit.term, hit.synonym_of) for hit in result.hits] == [(synonym, term)]


def test_the_config_extends_a_shipped_set_and_names_unknown_sets() -> None:
    topic = TopicConfig(slug="t", title="T", include=["CAR-T"])
    item = release("Zorbacel data", "Zorbacel shrank tumors in 7 of 12 patients.")
    [result] = compile_topics([topic], {}, {"car-t": ["zorbacel"]}).match(item)
    assert result.matched and result.hits[0].synonym_of == "CAR-T"
    with pytest.raises(RuleError, match="unknown synonym set.*'car_t'.*'car-t'"):
        compile_topics([topic], {}, {"car_t": ["x"]})


def test_min_score_is_per_topic_and_require_groups_need_their_share() -> None:
    body_only = release("Company news", "Results were reported today. " * 20 + "CAR-T.")
    assert not judge(body_only).matched
    assert judge(body_only, min_score=1).matched
    both = release("CAR-T maker update", "Revenue rose. " * 40 + "It also has a lupus drug.")
    assert judge(both, "CAR-T", require=["lupus"]).matched  # 3 >= 0.75 and 1 >= 0.75
    result = judge(both, "CAR-T", require=["lupus"], min_score=3)
    assert not result.matched
    assert result.reason.startswith("require 'lupus': score 1.00 below 1.50 (min_score / 2 rules)")


def test_config_checks_min_score_and_synonyms() -> None:
    with pytest.raises(ValidationError, match="min_score"):
        TopicConfig(slug="t", title="T", include=["x"], min_score=-1)
    config = Config.model_validate(
        {
            "topics": [
                {
                    "slug": "t",
                    "title": "T",
                    "include": ["CAR-T"],
                    "min_score": 2.5,
                    "synonyms": False,
                }
            ],
            "synonyms": {"car-t": ["zorbacel"]},
        }
    )
    assert config.topics[0].min_score == 2.5 and config.topics[0].synonyms is False


def test_stored_hits_keep_their_details_and_old_rows_still_load() -> None:
    hit = TermHit("lupus", "summary", "lead", "people with lupus", 2.0, "", "")
    assert hits_from_json(hits_to_json([hit, TermHit("CAR-T", "title")])) == [
        hit,
        TermHit("CAR-T", "title"),
    ]
    assert hits_to_json([TermHit("CAR-T", "title")]) == '[["CAR-T", "title"]]'
    assert hits_from_json('[["CAR-T", "title"]]') == [TermHit("CAR-T", "title")]


def test_schwartz_hearst_and_initialisms() -> None:
    assert definitions("launched the Solid Lipid Emulsion (SLE) platform") == {
        "SLE": "Solid Lipid Emulsion"
    }
    assert definitions("patients with multiple sclerosis (MS) and lupus.") == {
        "MS": "multiple sclerosis"
    }
    assert best_long_form("SLE", "the GMC Sierra") is None
    assert initialism("said Morgan Stanley analysts", "MS") == "Morgan Stanley"
    assert initialism("the MS Society said", "MS") is None


def test_paragraphs_come_from_block_tags_and_keys_ignore_digits() -> None:
    assert html_paragraphs("<p>One.</p><p>Two<br>three</p>") == ["One.", "Two", "three"]
    long = "Acme employs 210 people in Philadelphia and builds therapies for rare disease."
    assert paragraph_key(long) == paragraph_key(long.replace("210", "250"))
    assert paragraph_key("Read more.") is None


def test_a_named_wind_farm_is_still_a_wind_farm() -> None:
    lead = "Norhaven took a final investment decision on the Dogger Ridge Wind Farm in June."
    result = judge(release("Norhaven news", lead), "wind farm")
    assert result.matched
    assert places(result) == [("wind farm", "lead", "")]


@pytest.mark.parametrize(
    "lead",
    [
        "Strong offshore winds gusting to 70 mph are expected through Tuesday.",
        "A gusty offshore wind held up the swell at Mavericks all weekend.",
        "Race officers said an offshore wind kept the water flat close to shore.",
    ],
)
def test_the_weather_sense_of_offshore_wind_counts_nothing(lead: str) -> None:
    item = release("Sailing: offshore wind gives the fleet a fast start", lead)
    result = judge(item, "offshore wind")
    assert not result.matched
    assert {(hit.weight, hit.note) for hit in result.hits} == {
        (0.0, "the weather sense (wind blowing from land to sea)")
    }


@pytest.mark.parametrize(
    "lead",
    [
        "Poland's latest offshore wind auction drew bids for 4 GW.",
        "Ministers argued that offshore wind was still cheaper than new gas plants.",
        # an industry story that also speaks of the weather keeps the industry sense
        "Strong offshore winds delayed work on the offshore wind farm for a week.",
    ],
)
def test_offshore_wind_the_industry_counts(lead: str) -> None:
    assert judge(release("Energy news", lead), "offshore wind").matched


def test_a_qualifier_the_topic_contrasts_with_names_another_kind() -> None:
    item = release(
        "Lakehead energizes 320 MW onshore wind farm in Wyoming",
        "Lakehead said the wind farm has 64 turbines on ranch land.",
    )
    result = judge(item, "offshore wind", "wind farm")
    assert not result.matched
    assert {(hit.location, hit.weight, hit.note) for hit in result.hits} == {
        ("title", 0.0, "'onshore': the kind the topic is not"),
        ("lead", 0.0, "'onshore': the kind the topic is not"),
    }
    both = release(
        "Utility builds onshore wind farms and its first offshore wind farm",
        "The offshore wind farm will be its largest; its onshore wind farms are in Texas.",
    )
    result = judge(both, "offshore wind", "wind farm")
    assert result.matched
    assert ("wind farm", "lead", "") in places(result)


def test_a_phrase_the_item_also_writes_in_lowercase_is_not_a_name() -> None:
    item = release(
        "Trial news",
        "Kelvara dosed the first patient in its Lupus Nephritis Phase 2 Trial today.",
        "The trial enrolls adults with active lupus nephritis on standard therapy.",
    )
    result = judge(item, "lupus nephritis")
    assert result.matched
    assert {hit.note for hit in result.hits} == {""}


def test_a_spelled_out_term_before_a_letter_or_abbreviation_is_not_a_name() -> None:
    lead = "Kelvara dosed the first patient with its Chimeric Antigen Receptor T-Cell therapy."
    result = judge(release("Kelvara news", lead), "chimeric antigen receptor")
    assert result.matched
    assert places(result) == [("chimeric antigen receptor", "lead", "")]
