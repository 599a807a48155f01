"""Tests for HL7 v2 ADT parsing (A04, A08, A40) and ACK/NAK building, on hand-written trust messages."""

from __future__ import annotations

from datetime import date, datetime

import hl7
import pytest

from gmc.registry.hl7_adt import (
    Hl7Error,
    build_ack,
    frame_mllp,
    handle_adt,
    parse_adt,
    split_messages,
)

A04 = "\r".join(
    [
        "MSH|^~\\&|PAS|RRK|GMC_REGISTRY|GMC|20250314093012||ADT^A04^ADT_A01|RRK0000123|P|2.4|||AL|NE|GBR",
        "EVN|A04|20250314093000|||JBLOGGS^Bloggs^Joe",
        "PID|1||9434765919^^^NHS^NH~RRK4412987^^^RRK^MR||O'BRIEN^Siobhan^Mary^^Mrs||19780215|F|||"
        "Flat 2\\F\\3 Church Road^Edgbaston^Birmingham^^B15 3TT^GBR^H||0121 496 0000^PRN^PH|||||||||||||||",
        "PD1|||QUEENS MEDICAL PRACTICE^^M85001|G1234567^Jones^Alan",
        "PV1|1|O|",
    ]
)

A08 = "\n".join(
    [
        "MSH|^~\\&|PAS|RKB|GMC_REGISTRY|GMC|202503150815||ADT^A08^ADT_A01|RKB-884|P|2.4",
        "EVN|A08|202503150815",
        "PID|1||UHC0099812^^^RKB^MR||KHAN^Muhammad||20110930|M|||12 Stoney Lane^^Coventry^^CV2 4FF^GBR",
        "PV1|1|O|",
    ]
)

A40 = "\r\n".join(
    [
        "MSH|^~\\&|PAS|RL4|GMC_REGISTRY|GMC|20250316110000||ADT^A40^ADT_A39|RL4MRG77|P|2.4",
        "EVN|A40|20250316110000",
        "PID|1||9434765919^^^NHS^NH~RWT1000001^^^RL4^MR||SMITH^Joan||19400101|F",
        "MRG|RWT1000999^^^RL4^MR||||||SMITH^Joanne",
    ]
)


def test_a04_registration_is_read_into_plain_data() -> None:
    message = parse_adt(A04)
    assert message.event == "A04"
    assert message.message_control_id == "RRK0000123"
    assert message.trust_code == "RRK"
    assert message.message_datetime == datetime(2025, 3, 14, 9, 30, 12)
    assert message.event_datetime == datetime(2025, 3, 14, 9, 30)
    patient = message.patient
    assert patient.nhs_number == "9434765919"
    assert [(h.value, h.assigning_authority, h.identifier_type) for h in patient.hospital_numbers] == [
        ("RRK4412987", "RRK", "MR")
    ]
    assert (patient.family_name, patient.given_name, patient.middle_names, patient.title) == (
        "O'BRIEN",
        "Siobhan",
        "Mary",
        "Mrs",
    )
    assert patient.date_of_birth == date(1978, 2, 15)
    assert patient.sex == "F"
    # \F\ is the escaped field separator: the flat number reads "2|3" once unescaped.
    assert patient.address_lines == ("Flat 2|3 Church Road", "Edgbaston")
    assert patient.city == "Birmingham"
    assert patient.postcode == "B15 3TT"
    assert patient.phone == "0121 496 0000"


def test_a04_becomes_a_linkage_record() -> None:
    record = parse_adt(A04).to_person_record()
    assert record.record_id == "RRK0000123"
    assert record.nhs_number == "9434765919"
    assert record.trust_code == "RRK" and record.hospital_number == "RRK4412987"
    assert record.given_name == "Siobhan Mary"
    assert record.postcode == "B15 3TT"


def test_a08_with_newline_separators_and_no_nhs_number() -> None:
    message = parse_adt(A08)
    assert message.event == "A08"
    assert message.patient.nhs_number is None
    assert message.patient.hospital_numbers[0].value == "UHC0099812"
    assert message.message_datetime == datetime(2025, 3, 15, 8, 15)
    assert message.merge is None


def test_a40_merge_carries_the_prior_identifiers() -> None:
    message = parse_adt(A40)
    assert message.event == "A40"
    assert message.merge is not None
    assert [h.value for h in message.merge.prior_hospital_numbers] == ["RWT1000999"]
    assert message.merge.prior_given_name == "Joanne"
    assert message.patient.nhs_number == "9434765919"


def test_mllp_framed_messages_in_one_file_are_split() -> None:
    stream = frame_mllp(A04) + frame_mllp(A08.replace("\n", "\r"))
    messages = split_messages(stream)
    assert len(messages) == 2
    assert parse_adt(messages[1]).message_control_id == "RKB-884"
    assert parse_adt(frame_mllp(A04)).message_control_id == "RRK0000123"


def test_ack_for_a_good_message() -> None:
    message, ack = handle_adt(A04)
    assert message is not None
    parsed = hl7.parse(ack)
    assert str(parsed.segment("MSA")[1]) == "AA"
    assert str(parsed.segment("MSA")[2]) == "RRK0000123"
    assert str(parsed.segment("MSH")[9]) == "ACK^A04^ACK"
    assert str(parsed.segment("MSH")[5]) == "PAS" and str(parsed.segment("MSH")[6]) == "RRK"


@pytest.mark.parametrize(
    ("mutate", "location", "code", "words"),
    [
        (lambda m: m.replace("19780215", "1978-02-15"), "PID-7", 102, "date of birth"),
        (lambda m: m.replace("9434765919^^^NHS", "9434765918^^^NHS"), "PID-3", 102, "check digit"),
        (lambda m: m.replace("|F|||", "|Q|||"), "PID-8", 103, "administrative sex"),
        (lambda m: m.replace("O'BRIEN^Siobhan", "^Siobhan"), "PID-5", 101, "family name"),
        (lambda m: m.replace("9434765919^^^NHS^NH~RRK4412987^^^RRK^MR", ""), "PID-3", 101, "identifier"),
        (lambda m: m.replace("ADT^A04^ADT_A01", "ADT^A31^ADT_A05"), "MSH-9", 201, "unsupported event"),
        (lambda m: m.replace("ADT^A04^ADT_A01", "ORU^R01"), "MSH-9", 200, "unsupported message type"),
        (lambda m: m.replace("|RRK0000123|", "||"), "MSH-10", 101, "control id"),
        (lambda m: m.replace("PID|1||", "PIX|1||"), "PID", 100, "no PID segment"),
    ],
)
def test_malformed_messages_name_segment_and_field(mutate, location: str, code: int, words: str) -> None:
    bad = mutate(A04)
    with pytest.raises(Hl7Error, match=words) as caught:
        parse_adt(bad)
    assert caught.value.location == location
    assert caught.value.code == code
    assert str(caught.value).startswith(location)
    _, nak = handle_adt(bad)
    parsed = hl7.parse(nak)
    assert str(parsed.segment("MSA")[1]) in ("AE", "AR")
    err = parsed.segment("ERR")
    assert str(err[3]).startswith(str(code))
    assert str(err[2]).split("^")[0] == location.split("-")[0]


def test_a40_without_mrg_is_an_error() -> None:
    without_mrg = "\r".join(line for line in A40.split("\r\n") if not line.startswith("MRG"))
    with pytest.raises(Hl7Error, match="no MRG segment"):
        parse_adt(without_mrg)


def test_nak_for_text_that_is_not_hl7() -> None:
    message, nak = handle_adt("hello world")
    assert message is None
    parsed = hl7.parse(nak)
    assert str(parsed.segment("MSA")[1]) == "AR"
    assert "must start with an MSH segment" in str(parsed.segment("ERR")[8])


def test_error_text_with_delimiters_is_escaped_in_the_nak() -> None:
    error = Hl7Error("bad value 'a|b^c'", segment="PID", field=7, code=102)
    nak = build_ack(A04, error, now=datetime(2025, 1, 1, 12, 0, 0), control_id="N1")
    assert nak.startswith("MSH|^~\\&|GMC|GMC|PAS|RRK|20250101120000||ACK^A04^ACK|N1|P|2.4\r")
    parsed = hl7.parse(nak)
    assert parsed.unescape(str(parsed.segment("ERR")[8])) == "PID-7: bad value 'a|b^c'"
    assert str(parsed.segment("ERR")[2]) == "PID^1^7"
