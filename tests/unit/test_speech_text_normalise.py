"""Text for the ear: normalisation, sentence splitting and the streaming sentence chunker."""

from __future__ import annotations

import pytest

from agent.speech.text_normalise import (
    SentenceChunker,
    normalise_for_speech,
    quick_first_chunk,
    split_sentences,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("We're open Mon-Fri.", "We're open Monday to Friday."),
        ("We're open Mon–Fri.", "We're open Monday to Friday."),
        ("Service: Tues thru Thurs.", "Service: Tuesday to Thursday."),
        ("Open 9am-6pm.", "Open 9 a.m. to 6 p.m."),
        ("From 8:00 AM to 5:30PM", "From 8 a.m. to 5:30 p.m."),
        ("At 9 A.M. sharp", "At 9 a.m. sharp"),
        ("Parts & service", "Parts and service"),
        ("Fluids, e.g. coolant.", "Fluids, for example, coolant."),
        ("Email hello@riversidemotors.example.", "Email hello at riversidemotors dot example."),
        (
            "See https://www.riversidemotors.example/service today",
            "See riversidemotors dot example slash service today",
        ),
        ("Book at riversidemotors.example/book.", "Book at riversidemotors dot example slash book."),
        ("Call 555-014-2233.", "Call 5 5 5, 0 1 4, 2 2 3 3."),
        ("Call (555) 014-2233 now", "Call 5 5 5, 0 1 4, 2 2 3 3 now"),
        ("**Great news!** The `Civic` is in.", "Great news! The Civic is in."),
        ("See [our specials](https://x.example/specials).", "See our specials."),
        ("The loaner (a Corolla) is ready.", "The loaner, a Corolla, is ready."),
        ("Roadside help 24/7.", "Roadside help twenty-four seven."),
        ("Sun: closed", "Sunday: closed"),
    ],
)
def test_written_forms_become_spoken_forms(written: str, spoken: str) -> None:
    assert normalise_for_speech(written) == spoken


@pytest.mark.parametrize(
    "text",
    [
        "Sat down, relax.",  # the verb, not Saturday
        "The 2021 Civic is $24,995.",  # prices and years are left to the TTS, which reads them well
        "It has a 3.5 liter engine.",
        "Dr. Patel is on Main St. in town.",
    ],
)
def test_text_that_reads_well_is_left_alone(text: str) -> None:
    assert normalise_for_speech(text) == text


def test_markdown_list_becomes_sentences_with_pauses() -> None:
    spoken = normalise_for_speech("**Hours:**\n- Mon–Fri: 8am - 6pm\n- Sat: 9am to 1pm\n- Sun: closed")
    assert spoken == "Hours: Monday to Friday: 8 a.m. to 6 p.m. Saturday: 9 a.m. to 1 p.m. Sunday: closed"


def test_normalising_twice_changes_nothing() -> None:
    once = normalise_for_speech("Mon-Fri 9am-6pm & Sat (till noon); email sales@riversidemotors.example.")
    assert normalise_for_speech(once) == once


def test_split_keeps_titles_times_decimals_and_phone_numbers_inside_sentences() -> None:
    text = (
        "Dr. Smith can see you at 9 a.m. tomorrow. The engine is 3.5 liters. "
        "Call 555-014-2233 to confirm. St. Louis customers are welcome."
    )
    assert split_sentences(text) == [
        "Dr. Smith can see you at 9 a.m. tomorrow.",
        "The engine is 3.5 liters.",
        "Call 555-014-2233 to confirm.",
        "St. Louis customers are welcome.",
    ]


def test_split_ends_a_sentence_after_a_street_address_and_after_a_m() -> None:
    assert split_sentences("We are at 12 Main St. Come by any time. We open at 9 a.m. See you then!") == [
        "We are at 12 Main St.",
        "Come by any time.",
        "We open at 9 a.m.",
        "See you then!",
    ]


def test_split_does_not_end_a_sentence_before_a_day_after_a_m() -> None:
    assert split_sentences("Your slot is 9 a.m. Monday. Bring the keys please.") == [
        "Your slot is 9 a.m. Monday.",
        "Bring the keys please.",
    ]


def test_split_merges_very_short_fragments_into_the_next_sentence() -> None:
    assert split_sentences("Sure. I can help with that. Great!") == ["Sure. I can help with that. Great!"]
    assert split_sentences("Okay.") == ["Okay."]
    assert split_sentences("") == []


def test_split_treats_lines_as_sentences() -> None:
    assert split_sentences("Here are the options:\nthe red Civic\nthe blue Corolla") == [
        "Here are the options:",
        "the red Civic",
        "the blue Corolla",
    ]


def _feed(chunker: SentenceChunker, text: str, step: int) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for start in range(0, len(text), step):
        out.extend((start, s) for s in chunker.push(text[start : start + step]))
    out.extend((len(text), s) for s in chunker.flush())
    return out


@pytest.mark.parametrize("step", [1, 3, 7, 1000])
def test_chunker_releases_the_same_sentences_however_the_text_is_streamed(step: int) -> None:
    text = "Sure. I can book that for you. Dr. Patel starts at 9 a.m. Monday to Friday. Anything else?"
    sentences = [s for _, s in _feed(SentenceChunker(), text, step)]
    assert sentences == [
        "Sure. I can book that for you.",
        "Dr. Patel starts at 9 a.m. Monday to Friday.",
        "Anything else?",
    ]


def test_chunker_releases_a_sentence_before_the_stream_ends() -> None:
    text = "Your car is ready for pickup. We close at six tonight, so come soon."
    released = _feed(SentenceChunker(), text, 2)
    first_at, first = released[0]
    assert first == "Your car is ready for pickup."
    assert first_at < len(text) - 20  # the first sentence did not wait for the whole reply


def test_chunker_waits_for_the_word_after_a_period() -> None:
    chunker = SentenceChunker()
    assert chunker.push("Please ask for Dr.") == []
    assert chunker.push(" Patel when you arrive.") == []
    assert chunker.push(" Thanks") == ["Please ask for Dr. Patel when you arrive."]
    assert chunker.flush() == ["Thanks"]


def test_chunker_normalises_what_it_releases() -> None:
    chunker = SentenceChunker()
    out = chunker.push("We're open **Mon-Fri** 9am-6pm. Call 555-014-2233 ")
    out += chunker.flush()
    assert out == ["We're open Monday to Friday 9 a.m. to 6 p.m.", "Call 5 5 5, 0 1 4, 2 2 3 3"]


def test_chunker_without_normalising_keeps_the_text() -> None:
    chunker = SentenceChunker(normalise=False)
    assert chunker.push("Open Mon-Fri until 6pm. Bye") == ["Open Mon-Fri until 6pm."]


def test_chunker_cuts_a_run_on_sentence_at_a_clause() -> None:
    chunker = SentenceChunker(max_chars=60)
    text = "We have the Civic in red, the Corolla in blue, the Camry in white, and the Accord in black"
    released = chunker.push(text)
    assert released, "a run-on sentence longer than max_chars must not hold back the first audio"
    assert all(len(s) <= 60 for s in released)
    assert " ".join(released + chunker.flush()).replace(",", "") == text.replace(",", "")


def test_chunker_flush_on_empty_stream_is_empty() -> None:
    chunker = SentenceChunker()
    assert chunker.push("") == []
    assert chunker.flush() == []


def test_a_long_first_sentence_is_cut_at_its_first_clause_so_audio_starts_sooner() -> None:
    long = (
        "We have three used SUVs under twenty five thousand dollars, a 2021 Toyota RAV4 with thirty "
        "thousand miles, and a 2020 Honda CR-V."
    )
    assert quick_first_chunk([long, "Want to see one?"]) == [
        "We have three used SUVs under twenty five thousand dollars,",
        "a 2021 Toyota RAV4 with thirty thousand miles, and a 2020 Honda CR-V.",
        "Want to see one?",
    ]


def test_short_first_sentences_and_clauses_too_small_to_stand_alone_are_left_whole() -> None:
    assert quick_first_chunk(["Sure, what day works best?"]) == ["Sure, what day works best?"]
    run_on = (
        "Yes, we are open on Saturdays from nine in the morning until three in the afternoon for service."
    )
    assert quick_first_chunk([run_on]) == [run_on]  # "Yes," alone is too short to be worth a chunk
    assert quick_first_chunk([]) == []
