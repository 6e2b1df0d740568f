"""The receptionist's understanding, held to the bar on the labeled corpus and on each hard case."""

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from calls.receptionist.evaluation import CORPUS, demo_menu, evaluate, load_corpus
from calls.receptionist.understanding import match_service, parse_choice, parse_times
from escalations.rules import detect

BLIND = CORPUS.with_name("blind.jsonl")
NEW_YORK = ZoneInfo("America/New_York")
WEDNESDAY = datetime(2026, 12, 2, 10, 0, tzinfo=NEW_YORK)


@pytest.fixture(scope="module")
def full_report():
    return evaluate(load_corpus())


def test_the_corpus_is_big_and_covers_every_intent():
    rows = load_corpus()
    assert len(rows) >= 300
    assert {row["intent"] for row in rows} >= {
        "book",
        "reschedule",
        "cancel",
        "confirm",
        "pricing",
        "hours_location",
        "membership",
        "event_offer",
        "question",
        "opt_out",
        "opt_in",
        "help",
        "human",
        "clinical",
        "emergency",
        "complaint",
        "greeting",
        "other",
    }
    assert any(row["channel"] == "speech" for row in rows) and any(row["lang"] == "es" for row in rows)


def test_every_emergency_in_the_corpus_is_caught(full_report):
    assert full_report.missed_emergencies == []


def test_every_opt_out_is_caught_and_nothing_else_opts_out(full_report):
    assert full_report.missed_opt_outs == []
    assert full_report.false_opt_outs == []


def test_intent_accuracy_is_at_least_90_percent_on_the_held_out_split():
    report = evaluate(load_corpus(split="test"))
    assert report.intent_accuracy >= 0.90, report.errors


def test_service_accuracy_is_at_least_90_percent(full_report):
    assert full_report.service_accuracy >= 0.90


@pytest.mark.skipif(not BLIND.exists(), reason="no blind set in this checkout")
def test_the_blind_set_meets_the_bar_too():
    report = evaluate(load_corpus(BLIND))
    assert report.missed_emergencies == [] and report.missed_opt_outs == [] and report.false_opt_outs == []
    assert report.intent_accuracy >= 0.90, report.errors
    assert report.service_accuracy >= 0.90


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("botx", "botox"),
        ("can i get tox", "botox"),
        ("wrinkle relaxer pls", "botox"),
        ("hydra facial", "hydrafacial"),
        ("lip fillr", "lip-filler"),
        ("fat freezing on my belly", "coolsculpting"),
        ("rf microneedling", "morpheus8"),
        ("relleno de labios", "lip-filler"),
        ("depilacion laser", "laser-hair-removal"),
        ("lazer hair removal", "laser-hair-removal"),
        ("Morpheus 8", "morpheus8"),
        ("cool sculpting", "coolsculpting"),
        ("I want to go to the gym", None),
        ("today", None),
    ],
)
def test_services_are_matched_through_typos_slang_and_spanish(text, slug):
    assert match_service(text, demo_menu())[0] == slug


def test_time_phrasings_resolve_in_the_locations_zone():
    pref = parse_times("next Tuesday after 3", now=WEDNESDAY, zone=NEW_YORK)
    assert pref.dates == ["2026-12-08"] and pref.earliest == "15:00"
    sat = parse_times("Saturday morning", now=WEDNESDAY, zone=NEW_YORK)
    assert sat.dates == ["2026-12-05"] and sat.parts_of_day == ["morning"]
    assert parse_times("tmrw after work", now=WEDNESDAY, zone=NEW_YORK).dates == ["2026-12-03"]
    assert parse_times("asap", now=WEDNESDAY, zone=NEW_YORK).asap
    week = parse_times("anything this week?", now=WEDNESDAY, zone=NEW_YORK)
    assert (week.range_start, week.range_end) == ("2026-12-02", "2026-12-06")
    assert parse_times("the 14th", now=WEDNESDAY, zone=NEW_YORK).dates == ["2026-12-14"]
    # Late in the evening UTC is still Wednesday in New York: "tomorrow" is Thursday.
    late = datetime(2026, 12, 3, 3, 30, tzinfo=ZoneInfo("UTC"))
    assert parse_times("tomorrow", now=late, zone=NEW_YORK).dates == ["2026-12-03"]


OFFERED = [
    datetime(2026, 12, 3, 10, 0, tzinfo=NEW_YORK),
    datetime(2026, 12, 4, 14, 30, tzinfo=NEW_YORK),
    datetime(2026, 12, 5, 9, 0, tzinfo=NEW_YORK),
]


@pytest.mark.parametrize(
    ("text", "choice"),
    [
        ("2", 2),
        ("#3", 3),
        ("the second one", 2),
        ("option 1 please", 1),
        ("the 2:30 works", 2),
        ("2!", 2),
        ("saturday one", 3),
        ("the last one", 3),
        ("la primera", 1),
        ("4", None),
        ("I have 2 kids", None),
    ],
)
def test_a_chosen_slot_is_read_against_the_times_offered(text, choice):
    assert parse_choice(text, OFFERED) == choice


@pytest.mark.parametrize(
    "text",
    [
        "not sure if its normal but my lip looks purple",
        "cant swalow right",
        "no pain but my lip is turning white",
        "I'm not having trouble breathing but my throat feels tight",
        "prob nothing but my vision is blurry",
        "my face is super swollen",
        "no puedo tragar bien despues del relleno",
        "hives all over after my facial",
        "the skin by my nose went kind of grey and dusky",
        "fever and pus where the filler went in",
    ],
)
def test_hedged_misspelled_and_negated_emergencies_escalate(text):
    assert detect(text).category == "emergency"


@pytest.mark.parametrize(
    "text",
    [
        "do you treat dark spots?",
        "can I get botox after lunch",
        "I had a family emergency, can I reschedule?",
        "what time do you open",
        "what's the wrong number for you guys",
    ],
)
def test_ordinary_messages_do_not_look_like_emergencies(text):
    found = detect(text)
    assert found is None or found.category != "emergency"


def test_the_understand_command_prints_json(db, capsys):
    call_command("seed_demo", stdout=open("/dev/null", "w"))
    call_command("understand", "do you have anything for botx next tuesday after 3?", practice="demo")
    data = json.loads(capsys.readouterr().out)
    assert data["intent"] == "book" and data["service"] == "botox" and data["times"]["earliest"] == "15:00"
    assert data["reasons"]


def test_the_eval_command_prints_precision_recall_and_confusion(capsys):
    call_command("receptionist_eval", split="test")
    out = capsys.readouterr().out
    assert "intent accuracy" in out and "precision" in out and "confusion" in out


def test_the_corpus_file_is_where_the_command_reads_it():
    assert Path(CORPUS).exists()
