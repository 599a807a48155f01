"""HL7 v2 ADT registration messages (A04, A08, A40 merge) to plain data, and ACK/NAK replies."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

import hl7

from gmc.registry.linkage import PersonRecord
from gmc.registry.nhs_number import InvalidNhsNumber, normalise_nhs_number

#: Trigger events this module understands.
SUPPORTED_EVENTS: tuple[str, ...] = ("A04", "A08", "A40")

#: HL7 table 0357 message error condition codes used in ERR segments.
ERROR_CODES: dict[int, str] = {
    100: "Segment sequence error",
    101: "Required field missing",
    102: "Data type error",
    103: "Table value not found",
    200: "Unsupported message type",
    201: "Unsupported event code",
    204: "Unknown key identifier",
    207: "Application internal error",
}

_MLLP_START, _MLLP_END = "\x0b", "\x1c"
_SEX_CODES = frozenset({"M", "F", "O", "U", "A", "N"})


class Hl7Error(ValueError):
    """A malformed or unsupported HL7 message; names the segment and field at fault and the HL7 error code."""

    def __init__(
        self,
        message: str,
        *,
        segment: str | None = None,
        field: int | None = None,
        code: int = 207,
        reject: bool = False,
    ) -> None:
        self.segment = segment
        self.field = field
        self.code = code
        #: True when the message as a whole is unacceptable (AR) rather than in error (AE).
        self.reject = reject
        where = f"{segment}-{field}" if segment and field is not None else (segment or "message")
        self.location = where
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class PatientIdentifier:
    """One repetition of PID-3 (or MRG-1): the id, who assigned it and what kind of id it is."""

    value: str
    #: CX-4 assigning authority, e.g. NHS or a trust's ODS code.
    assigning_authority: str | None = None
    #: CX-5 identifier type code: NH (NHS number), MR (medical record / hospital number), PI, ...
    identifier_type: str | None = None

    @property
    def is_nhs_number(self) -> bool:
        """Returns True when this identifier is an NHS number (type NH or assigned by NHS)."""
        return self.identifier_type == "NH" or (self.assigning_authority or "").upper() in ("NHS", "NHSNO")


@dataclass(frozen=True, slots=True)
class AdtPatient:
    """The patient described by a PID segment."""

    identifiers: tuple[PatientIdentifier, ...]
    nhs_number: str | None
    hospital_numbers: tuple[PatientIdentifier, ...]
    family_name: str
    given_name: str
    middle_names: str = ""
    title: str = ""
    date_of_birth: date | None = None
    #: HL7 administrative sex: M, F, O, U, A or N.
    sex: str | None = None
    address_lines: tuple[str, ...] = ()
    city: str = ""
    postcode: str | None = None
    phone: str | None = None
    date_of_death: date | None = None


@dataclass(frozen=True, slots=True)
class AdtMerge:
    """The MRG segment of an A40: the identifiers of the record being merged away."""

    prior_identifiers: tuple[PatientIdentifier, ...]
    prior_nhs_number: str | None
    prior_hospital_numbers: tuple[PatientIdentifier, ...]
    prior_family_name: str = ""
    prior_given_name: str = ""


@dataclass(frozen=True, slots=True)
class AdtMessage:
    """A parsed ADT registration message."""

    message_control_id: str
    #: Trigger event: A04, A08 or A40.
    event: str
    sending_application: str
    #: MSH-4, for NHS feeds the trust's ODS code.
    sending_facility: str
    receiving_application: str
    receiving_facility: str
    message_datetime: datetime | None
    version: str
    processing_id: str
    patient: AdtPatient
    event_datetime: datetime | None = None
    merge: AdtMerge | None = None
    segments: tuple[str, ...] = field(default=())

    @property
    def trust_code(self) -> str:
        """Returns the sending trust (MSH-4)."""
        return self.sending_facility

    def to_person_record(self) -> PersonRecord:
        """Returns the patient as a linkage PersonRecord (hospital number of the sending trust if present)."""
        trust = self.sending_facility or None
        local = [h for h in self.patient.hospital_numbers if h.assigning_authority in (None, "", trust)]
        hospital = (local or list(self.patient.hospital_numbers) or [None])[0]
        sex = self.patient.sex if self.patient.sex in ("M", "F", "O") else None
        return PersonRecord(
            record_id=self.message_control_id,
            nhs_number=self.patient.nhs_number,
            family_name=self.patient.family_name,
            given_name=" ".join(p for p in (self.patient.given_name, self.patient.middle_names) if p),
            date_of_birth=self.patient.date_of_birth,
            sex=sex,
            postcode=self.patient.postcode,
            trust_code=trust,
            hospital_number=hospital.value if hospital else None,
        )


def normalise_segments(text: str | bytes) -> str:
    """Returns message text without MLLP framing, segments split by \\r (accepts \\r, \\n or \\r\\n)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            text = text.decode("latin-1")
    text = text.replace(_MLLP_START, "").replace(_MLLP_END, "")
    lines = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\r".join(line for line in lines if line)


def split_messages(text: str | bytes) -> list[str]:
    """Returns the messages of a file or stream holding several (MLLP-framed or one after another)."""
    body = normalise_segments(text)
    messages: list[list[str]] = []
    for segment in body.split("\r"):
        if segment.startswith("MSH") or not messages:
            messages.append([])
        messages[-1].append(segment)
    return ["\r".join(m) for m in messages if m]


def _text(message: hl7.Message, value: object) -> str:
    return message.unescape(str(value)).strip() if value is not None else ""


def _field(segment: hl7.Segment, number: int) -> hl7.containers.Field | None:
    if len(segment) <= number:
        return None
    value = segment[number]
    return value if str(value) != "" else None


def _repetitions(segment: hl7.Segment, number: int) -> list[list[str]]:
    """Returns the repetitions of a field as lists of raw component strings."""
    value = _field(segment, number)
    if value is None:
        return []
    reps = str(value).split("~")
    return [rep.split("^") for rep in reps if rep]


def _parse_datetime(value: str, segment: str, number: int, what: str) -> datetime | None:
    if not value:
        return None
    digits = value.split("+")[0].split("-")[0].split(".")[0]
    formats = {14: "%Y%m%d%H%M%S", 12: "%Y%m%d%H%M", 10: "%Y%m%d%H", 8: "%Y%m%d"}
    fmt = formats.get(len(digits))
    try:
        if fmt is None or not digits.isdigit():
            raise ValueError(value)
        return datetime.strptime(digits, fmt)
    except ValueError as error:
        raise Hl7Error(
            f"{what} {value!r} is not an HL7 date/time (YYYYMMDD[HHMM[SS]])",
            segment=segment,
            field=number,
            code=102,
        ) from error


def _identifiers(
    message: hl7.Message, segment: hl7.Segment, name: str, number: int
) -> tuple[tuple[PatientIdentifier, ...], str | None, tuple[PatientIdentifier, ...]]:
    identifiers: list[PatientIdentifier] = []
    for components in _repetitions(segment, number):
        value = message.unescape(components[0]).strip()
        if not value:
            continue
        authority = components[3].split("&")[0].strip() if len(components) > 3 else ""
        id_type = components[4].strip().upper() if len(components) > 4 else ""
        identifiers.append(PatientIdentifier(value, authority or None, id_type or None))
    nhs_number: str | None = None
    for identifier in identifiers:
        if identifier.is_nhs_number:
            try:
                nhs_number = normalise_nhs_number(identifier.value)
            except InvalidNhsNumber as error:
                raise Hl7Error(str(error), segment=name, field=number, code=102) from error
            break
    hospital = tuple(
        i for i in identifiers if not i.is_nhs_number and i.identifier_type in ("MR", "PI", "PN", None)
    )
    return tuple(identifiers), nhs_number, hospital


def _parse_pid(message: hl7.Message, pid: hl7.Segment, require_name: bool) -> AdtPatient:
    identifiers, nhs_number, hospital = _identifiers(message, pid, "PID", 3)
    if not identifiers:
        raise Hl7Error("no patient identifier (PID-3 is empty)", segment="PID", field=3, code=101)
    names = _repetitions(pid, 5)
    name = names[0] if names else []
    family = message.unescape(name[0]).strip() if name else ""
    if require_name and not family:
        raise Hl7Error("patient family name missing", segment="PID", field=5, code=101)

    def part(i: int) -> str:
        return message.unescape(name[i]).strip() if len(name) > i else ""

    dob_raw = _text(message, _field(pid, 7))
    dob_dt = _parse_datetime(dob_raw, "PID", 7, "date of birth")
    sex = _text(message, _field(pid, 8)).upper() or None
    if sex is not None and sex not in _SEX_CODES:
        raise Hl7Error(
            f"administrative sex {sex!r} is not one of {', '.join(sorted(_SEX_CODES))}",
            segment="PID",
            field=8,
            code=103,
        )
    addresses = _repetitions(pid, 11)
    address = addresses[0] if addresses else []

    def address_part(i: int) -> str:
        return message.unescape(address[i]).strip() if len(address) > i else ""

    phones = _repetitions(pid, 13)
    death_dt = _parse_datetime(_text(message, _field(pid, 29)), "PID", 29, "date of death")
    return AdtPatient(
        identifiers=identifiers,
        nhs_number=nhs_number,
        hospital_numbers=hospital,
        family_name=family,
        given_name=part(1),
        middle_names=part(2),
        title=part(4),
        date_of_birth=dob_dt.date() if dob_dt else None,
        sex=sex,
        address_lines=tuple(p for p in (address_part(0), address_part(1)) if p),
        city=address_part(2),
        postcode=address_part(4) or None,
        phone=(message.unescape(phones[0][0]).strip() or None) if phones else None,
        date_of_death=death_dt.date() if death_dt else None,
    )


def _parse_mrg(message: hl7.Message, mrg: hl7.Segment) -> AdtMerge:
    identifiers, nhs_number, hospital = _identifiers(message, mrg, "MRG", 1)
    if not identifiers:
        raise Hl7Error("no prior patient identifier (MRG-1 is empty)", segment="MRG", field=1, code=101)
    names = _repetitions(mrg, 7)
    name = names[0] if names else []
    return AdtMerge(
        prior_identifiers=identifiers,
        prior_nhs_number=nhs_number,
        prior_hospital_numbers=hospital,
        prior_family_name=message.unescape(name[0]).strip() if name else "",
        prior_given_name=message.unescape(name[1]).strip() if len(name) > 1 else "",
    )


def parse_adt(text: str | bytes) -> AdtMessage:
    """Returns the ADT A04/A08/A40 message in text as plain data; raises Hl7Error naming segment and field."""
    body = normalise_segments(text)
    if not body:
        raise Hl7Error("empty message", segment="MSH", code=100, reject=True)
    if not body.startswith("MSH"):
        raise Hl7Error(
            f"message must start with an MSH segment, found {body[:3]!r}",
            segment="MSH",
            code=100,
            reject=True,
        )
    if len(body) < 8:
        raise Hl7Error(
            "MSH segment too short for its separators", segment="MSH", field=2, code=102, reject=True
        )
    try:
        message = hl7.parse(body)
    except Exception as error:  # the hl7 package raises several types for broken text
        raise Hl7Error(f"cannot parse message: {error}", segment="MSH", code=102, reject=True) from error
    msh = message.segment("MSH")
    segment_ids = tuple(str(s[0]) for s in message)

    message_type = _text(message, _field(msh, 9))
    type_parts = message_type.split("^")
    if not message_type:
        raise Hl7Error("message type missing", segment="MSH", field=9, code=101, reject=True)
    if type_parts[0] != "ADT":
        raise Hl7Error(
            f"unsupported message type {type_parts[0]!r}", segment="MSH", field=9, code=200, reject=True
        )
    event = type_parts[1] if len(type_parts) > 1 else ""
    if not event:
        evn_event = ""
        if "EVN" in segment_ids:
            evn_event = _text(message, _field(message.segment("EVN"), 1))
        event = evn_event
    if event not in SUPPORTED_EVENTS:
        raise Hl7Error(
            f"unsupported event {event!r}: expected one of {', '.join(SUPPORTED_EVENTS)}",
            segment="MSH",
            field=9,
            code=201,
            reject=True,
        )
    control_id = _text(message, _field(msh, 10))
    if not control_id:
        raise Hl7Error("message control id missing", segment="MSH", field=10, code=101, reject=True)
    if "PID" not in segment_ids:
        raise Hl7Error(f"{event} message has no PID segment", segment="PID", code=100)
    patient = _parse_pid(message, message.segment("PID"), require_name=event in ("A04", "A08"))
    merge = None
    if event == "A40":
        if "MRG" not in segment_ids:
            raise Hl7Error("A40 merge message has no MRG segment", segment="MRG", code=100)
        merge = _parse_mrg(message, message.segment("MRG"))
    event_dt = None
    if "EVN" in segment_ids:
        event_dt = _parse_datetime(_text(message, _field(message.segment("EVN"), 2)), "EVN", 2, "event time")

    def hd(number: int) -> str:
        # HD data type: namespace id first, so "RRK^2.16.840...^ISO" reads as RRK.
        return _text(message, _field(msh, number)).split("^")[0]

    return AdtMessage(
        message_control_id=control_id,
        event=event,
        sending_application=hd(3),
        sending_facility=hd(4),
        receiving_application=hd(5),
        receiving_facility=hd(6),
        message_datetime=_parse_datetime(_text(message, _field(msh, 7)), "MSH", 7, "message time"),
        version=_text(message, _field(msh, 12)).split("^")[0],
        processing_id=_text(message, _field(msh, 11)).split("^")[0],
        patient=patient,
        event_datetime=event_dt,
        merge=merge,
        segments=segment_ids,
    )


def _escape(value: str) -> str:
    # Escape the delimiters of the default encoding characters, escape character first.
    return (
        value.replace("\\", "\\E\\")
        .replace("|", "\\F\\")
        .replace("^", "\\S\\")
        .replace("~", "\\R\\")
        .replace("&", "\\T\\")
        .replace("\r", " ")
        .replace("\n", " ")
    )


def _raw_msh_fields(original: str | bytes) -> list[str]:
    # A NAK must be built even for a message the parser rejected, so read MSH by plain splitting.
    body = normalise_segments(original) if original else ""
    first = body.split("\r", 1)[0] if body else ""
    if not first.startswith("MSH") or len(first) < 4:
        return []
    separator = first[3]
    parts = first.split(separator)
    # parts[0] is "MSH" and parts[1] the encoding characters (MSH-2), so MSH-n is parts[n - 1].
    return parts


def _ack_source(original: str | bytes | AdtMessage) -> tuple[hl7.Message, str]:
    """A clean MSH of the message being acknowledged, as an hl7.Message (the library builds the reply from it),
    and its trigger event. Read by plain splitting for text, so even a message the parser refused is answered."""
    if isinstance(original, AdtMessage):
        fields = {3: original.sending_application, 4: original.sending_facility, 5: original.receiving_application,
                  6: original.receiving_facility, 10: original.message_control_id, 11: original.processing_id,
                  12: original.version}
        event = original.event
    else:
        parts = _raw_msh_fields(original)

        def msh(n: int) -> str:
            return parts[n - 1] if len(parts) >= n else ""

        fields = {3: msh(3).split("^")[0], 4: msh(4).split("^")[0], 5: msh(5).split("^")[0],
                  6: msh(6).split("^")[0], 10: msh(10), 11: msh(11).split("^")[0], 12: msh(12).split("^")[0]}
        event = msh(9).split("^")[1] if "^" in msh(9) else ""
    fields[11] = fields[11] or "P"
    fields[12] = fields[12] or "2.4"
    values = [_escape(fields.get(n, "")) for n in range(3, 13)]
    values[9 - 3] = f"ADT^{_escape(event)}"
    return hl7.parse("MSH|^~\\&|" + "|".join(values)), event


def build_ack(
    original: str | bytes | AdtMessage,
    error: Hl7Error | None = None,
    *,
    sending_application: str = "GMC",
    sending_facility: str = "GMC",
    control_id: str | None = None,
    now: datetime | None = None,
    acknowledgement: Literal["AA", "AE", "AR"] | None = None,
) -> str:
    """Returns an ACK (AA) for a message, or a NAK (AE/AR with an ERR segment) when an Hl7Error is given.

    Built with the hl7 library's create_ack from the message's MSH; the error text goes to MSA-3 and ERR-8."""
    now = now or datetime.now()
    source, event = _ack_source(original)
    code = acknowledgement or ("AA" if error is None else ("AR" if error.reject else "AE"))
    stamp = now.strftime("%Y%m%d%H%M%S")
    original_control_id = str(source.segment("MSH")(10))
    ack = source.create_ack(code, message_id=_escape(control_id or f"ACK{stamp}{original_control_id}"[:199]),
                            application=_escape(sending_application), facility=_escape(sending_facility))
    msh = ack.segment("MSH")
    msh.assign_field(stamp, 7)
    if not event:
        msh.assign_field("ACK", 9)
    if error is not None:
        ack.segment("MSA").assign_field(_escape(str(error))[:80], 3)
        location = ""
        if error.segment:
            location = f"{error.segment}^1^{error.field}" if error.field is not None else error.segment
        err = ack.create_segment([ack.create_field(["ERR"])])
        err.assign_field(location, 2)
        err.assign_field(f"{error.code}^{ERROR_CODES.get(error.code, 'Application error')}^HL70357", 3)
        err.assign_field("E", 4)
        err.assign_field(_escape(str(error)), 8)
        ack.append(err)
    return str(ack)


def frame_mllp(message: str) -> bytes:
    """Returns a message wrapped in MLLP framing (VT ... FS CR) for sending over TCP."""
    return (_MLLP_START + message + _MLLP_END + "\r").encode("utf-8")


def handle_adt(text: str | bytes) -> tuple[AdtMessage | None, str]:
    """Returns the parsed message (None if rejected) and the ACK or NAK to send back."""
    try:
        message = parse_adt(text)
    except Hl7Error as error:
        return None, build_ack(text, error)
    return message, build_ack(message)
