"""Seeded generator of realistic West Midlands person-record sets with known duplicates and hard negatives."""

from __future__ import annotations

import argparse
import csv
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from gmc.registry.names import NICKNAME_GROUPS
from gmc.registry.nhs_number import generate_test_nhs_numbers

# Family names across the origins seen in West Midlands registers, most common first (Zipf-weighted).
FAMILY_NAMES = """
Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson Wright Walker
White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner Martin Cooper Hill Ward Morris
Moore Clark Lee King Baker Harrison Morgan Allen James Scott Phillips Watson Davis Parker Price Bennett
Young Griffiths Mitchell Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards
Khan Marshall Anderson Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray
Mason Ali Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker
Fisher Stevens Jenkins Murray Dixon Harvey Graham Pearson Ahmed Fletcher Walsh Kaur Gibson Howard Andrews
Stewart Elliott Reynolds Saunders Payne Fox Ford Pearce Day Brooks West Lawrence Cole Atkinson Bradley
Spencer Gill Dawson Ball Burton O'Brien Watts Rose Booth Perry Ryan Grant Wells Armstrong Francis Rees Hayes
Hart Hudson Newman Barrett Webster Hunter Gregory Carr Lowe Page Marsh Riley Dunn Woods Parsons Berry Stone
Reid Holland Hawkins Harding Porter Robertson Newton Oliver Reed Kennedy Williamson Bird Gardner Shah Dean
Lane Cooke Bates Henderson Parry Burgess Bishop Walton Burns Nicholson Shepherd Ross Cross Long Freeman
Warren Nicholls Hamilton Byrne Sutton McDonald Yates Hodgson Robson Curtis Hopkins O'Connor Harper Coleman
Watkins Moss McCarthy Chambers O'Neill Griffin Sharp Hardy Wheeler Potter Osborne Johnston Gordon Doyle
Wallace George Jordan Hutchinson Rahman Iqbal Mahmood Akhtar Hussein Malik Rashid Chaudhry Aslam Bibi Mistry
Sharma Kumar Sandhu Dhillon Bains Sidhu Johal Bhatti Mann Virdi Chauhan Parmar Solanki Lal Joshi Desai Mehta
Chohan Nazir Qureshi Sheikh Mirza Butt Kowalski Nowak Wisniewski Wojcik Kaminski Lewandowski Zielinski
Szymanski Popescu Ionescu Chen Wang Li Zhang Liu Nguyen Tran Okafor Adeyemi Okonkwo Mensah Asante Boateng
Campbell-Brown Francis Gayle Clarke-Williams Baptiste Pinnock Bailey-Smith Ferreira Santos Silva Costa Rossi
Russo Papadopoulos Yilmaz Demir Kaya Abdi Mohamed Hassan Farah Osman Warsame Nolan Quinn Doherty Gallagher
Brennan Flynn McLaughlin Kavanagh Sweeney MacLeod Fraser Duncan
"""

MALE_GIVEN = """
Oliver George Harry Jack Jacob Noah Charlie Muhammad Thomas Oscar William James Leo Alfie Henry Joshua
Freddie Archie Ethan Isaac Alexander Joseph Edward Samuel Max Daniel Arthur Lucas Mohammed Logan Theo
Harrison Benjamin Mason Sebastian Finley Adam Dylan Zachary Riley Teddy Theodore David Elijah Jake Toby
Louie Reuben Arlo Hugo Luca Jaxon Matthew Harvey Harley Reggie Tommy Jenson Luke Michael Jude Frankie Albert
Stanley Jamie Gabriel Elliot Ronnie Rory Ryan John Robert Richard Paul Mark Andrew Stephen Peter Christopher
Anthony Kevin Gary Ian Simon Neil Martin Steven Darren Lee Craig Wayne Dean Stuart Graham Colin Keith Brian
Barry Trevor Derek Roy Dennis Kenneth Raymond Ronald Frederick Walter Leonard Geoffrey Malcolm Nigel Philip
Christian Francis Patrick Sean Liam Connor Callum Kieran Declan Aidan Rhys Dafydd Owen Gareth Ewan Hamish
Ahmed Ali Hassan Imran Bilal Usman Zain Ayaan Ibrahim Yusuf Omar Hamza Amir Tariq Rajesh Sanjay Vijay Arjun
Rohan Aarav Harpreet Gurpreet Jaswinder Sukhvinder Manjit Ravinder Piotr Tomasz Krzysztof Jakub Mateusz
Andrei Mihai Wei Jun Chukwuemeka Kwame Kofi Tunde Emeka
"""

FEMALE_GIVEN = """
Olivia Amelia Isla Ava Mia Ivy Lily Isabella Rosie Sophia Grace Freya Willow Florence Emily Ella Poppy Evie
Elsie Charlotte Evelyn Sienna Sofia Daisy Phoebe Sophie Alice Harper Ruby Emilia Matilda Isabelle Millie
Maya Esme Eva Hallie Jessica Luna Layla Chloe Ellie Isabel Lottie Bonnie Penelope Elizabeth Margaret Mary
Susan Patricia Linda Karen Sarah Helen Julie Joanne Nicola Claire Lisa Michelle Tracey Angela Jacqueline
Deborah Amanda Rachel Louise Emma Rebecca Hannah Laura Gemma Kelly Victoria Catherine Elaine Janet Christine
Carol Sandra Pauline Gillian Dorothy Joan Barbara Jean Doreen Sheila Brenda Maureen Irene Eileen Kathleen
Valerie Sylvia Hazel Beryl Shirley Frances Josephine Jennifer Anne Alison Caroline Lorraine Siobhan Niamh
Aoife Bethan Rhiannon Cerys Fatima Ayesha Zainab Maryam Aisha Khadija Amina Noor Hafsa Sana Samina Nasreen
Shazia Rubina Parveen Priya Anjali Pooja Neha Kiran Harjit Jasvir Manpreet Rajinder Sukhjit Agnieszka
Katarzyna Magdalena Joanna Anna Ioana Elena Mei Ling Xin Ngozi Chioma Adaeze Abena Akosua Yetunde Folasade
Keisha Shanice Tanisha Jade Chantelle Natasha Danielle
"""

# Plausible West Midlands outward codes (Birmingham, Coventry, Wolverhampton, Walsall, Dudley, ...).
OUTWARD_CODES: list[str] = (
    [f"B{n}" for n in range(1, 50)]
    + [
        f"B{n}"
        for n in (
            60,
            61,
            62,
            63,
            64,
            65,
            66,
            67,
            68,
            69,
            70,
            71,
            72,
            73,
            74,
            75,
            76,
            77,
            78,
            79,
            80,
            90,
            91,
            92,
            93,
            94,
            95,
            96,
            97,
            98,
        )
    ]
    + [f"CV{n}" for n in range(1, 13)]
    + [f"WV{n}" for n in range(1, 15)]
    + [f"WS{n}" for n in range(1, 15)]
    + [f"DY{n}" for n in range(1, 14)]
    + [f"WR{n}" for n in range(1, 15)]
    + [f"ST{n}" for n in range(1, 21)]
    + [f"TF{n}" for n in range(1, 13)]
    + [f"HR{n}" for n in range(1, 10)]
)
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

# West Midlands acute trusts (ODS codes) and the prefix of their hospital numbers.
TRUSTS: dict[str, str] = {
    "RRK": "RRK",
    "RQ3": "BCH",
    "RKB": "UHC",
    "RL4": "RWT",
    "RNA": "DGH",
    "RWP": "WAH",
    "RJE": "UHN",
    "RXW": "SAT",
    "RLQ": "WVT",
    "RBK": "WHT",
    "RXK": "SWB",
}

#: Error types of a duplicate record and their relative frequency (typos, nicknames and moves are common).
ERROR_WEIGHTS: dict[str, float] = {
    "family-typo": 0.16,
    "given-typo": 0.16,
    "nickname": 0.14,
    "moved": 0.16,
    "dob-typo": 0.10,
    "dob-transposed": 0.07,
    "swapped-names": 0.07,
    "changed-surname": 0.08,
    "given-initial": 0.06,
}

CSV_COLUMNS = (
    "record_id",
    "nhs_number",
    "family_name",
    "given_name",
    "date_of_birth",
    "sex",
    "postcode",
    "trust_code",
    "hospital_number",
    "true_person_id",
    "errors",
)


def _names(text: str) -> list[str]:
    return text.split()


def _zipf_weights(n: int, exponent: float = 0.9) -> list[float]:
    return [1.0 / (rank + 1) ** exponent for rank in range(n)]


@dataclass
class Person:
    """One real (synthetic) person with their true details."""

    person_id: str
    nhs_number: str
    family_name: str
    given_name: str
    date_of_birth: date
    sex: str
    postcode: str
    home_trust: str


@dataclass
class GeneratedSet:
    """The generated records (dicts with CSV_COLUMNS) and the people behind them."""

    people: list[Person] = field(default_factory=list)
    records: list[dict[str, str]] = field(default_factory=list)


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.family = _names(FAMILY_NAMES)
        self.family_w = _zipf_weights(len(self.family), 0.75)
        self.male = _names(MALE_GIVEN)
        self.male_w = _zipf_weights(len(self.male), 0.7)
        self.female = _names(FEMALE_GIVEN)
        self.female_w = _zipf_weights(len(self.female), 0.7)
        self.hospital_numbers: dict[str, set[str]] = {t: set() for t in TRUSTS}
        self.nicknames = self._nickname_lookup()

    def _nickname_lookup(self) -> dict[str, list[str]]:
        by_group: dict[int, list[str]] = {}
        for name, groups in NICKNAME_GROUPS.items():
            for g in groups:
                by_group.setdefault(g, []).append(name)
        lookup: dict[str, list[str]] = {}
        for name, groups in NICKNAME_GROUPS.items():
            others = sorted({n for g in groups for n in by_group[g] if n != name})
            if others:
                lookup[name] = [o.capitalize() for o in others]
        return lookup

    def postcode(self) -> str:
        r = self.rng
        inward = f"{r.randint(1, 9)}{r.choice(_INWARD_LETTERS)}{r.choice(_INWARD_LETTERS)}"
        return f"{r.choice(OUTWARD_CODES)} {inward}"

    def given(self, sex: str, avoid: set[str] = frozenset()) -> str:  # type: ignore[assignment]
        names, weights = (self.male, self.male_w) if sex == "M" else (self.female, self.female_w)
        while True:
            name = self.rng.choices(names, weights)[0]
            if name not in avoid:
                return name

    def family_name(self) -> str:
        return self.rng.choices(self.family, self.family_w)[0]

    def dob(self, min_age: int, max_age: int) -> date:
        today = date(2026, 1, 1)
        return today - timedelta(days=self.rng.randint(min_age * 365, max_age * 365 + 364))

    def hospital_number(self, trust: str) -> str:
        while True:
            number = f"{TRUSTS[trust]}{self.rng.randint(0, 9_999_999):07d}"
            if number not in self.hospital_numbers[trust]:
                self.hospital_numbers[trust].add(number)
                return number

    def typo(self, name: str) -> str:
        r = self.rng
        letters = "abcdefghijklmnopqrstuvwxyz"
        if len(name) < 3:
            return name + r.choice(letters)
        i = r.randint(1, len(name) - 2)
        kind = r.choice(("substitute", "delete", "insert", "transpose"))
        if kind == "substitute":
            return name[:i] + r.choice(letters) + name[i + 1 :]
        if kind == "delete":
            return name[:i] + name[i + 1 :]
        if kind == "insert":
            return name[:i] + r.choice(letters) + name[i:]
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]


def generate(
    n_records: int, *, seed: int = 1, duplicate_rate: float = 0.3, nhs_missing_rate: float = 0.4
) -> GeneratedSet:
    """Returns about n_records records of people in households, with duplicates and hard negatives."""
    g = _Generator(seed)
    r = g.rng
    people: list[Person] = []
    n_people_target = int(n_records / (1 + duplicate_rate * 1.25))
    nhs_numbers = iter(generate_test_nhs_numbers(n_people_target + 1000, seed=seed))
    trusts = list(TRUSTS)

    def add_person(family: str, given: str, dob: date, sex: str, postcode: str, trust: str) -> Person:
        person = Person(
            f"T{len(people) + 1:06d}", next(nhs_numbers), family, given, dob, sex, postcode, trust
        )
        people.append(person)
        return person

    while len(people) < n_people_target:
        postcode, trust, family = g.postcode(), r.choice(trusts), g.family_name()
        kind = r.random()
        if kind < 0.02 and people:
            # Namesake: an unrelated person with the same forename and surname as someone already generated,
            # born in the same or a nearby year half the time (same-name different people).
            other = r.choice(people)
            if other.date_of_birth.year < 2008:
                near = r.random() < 0.5
                dob = (
                    date(other.date_of_birth.year + r.randint(-1, 1), r.randint(1, 12), r.randint(1, 28))
                    if near
                    else g.dob(18, 95)
                )
                if dob != other.date_of_birth:
                    add_person(other.family_name, other.given_name, dob, other.sex, postcode, trust)
                    continue
        if kind < 0.35:
            sex = r.choice("MF")
            add_person(family, g.given(sex), g.dob(18, 95), sex, postcode, trust)
            continue
        # A couple, perhaps with children; about a third of women kept another surname.
        father = add_person(family, g.given("M"), g.dob(25, 80), "M", postcode, trust)
        mother_family = family if r.random() < 0.7 else g.family_name()
        add_person(
            mother_family,
            g.given("F"),
            father.date_of_birth + timedelta(days=r.randint(-2000, 2000)),
            "F",
            postcode,
            trust,
        )
        used = {father.given_name}
        for _ in range(r.choice((0, 0, 1, 2, 2, 3))):
            oldest = max(father.date_of_birth, date(1950, 1, 1)) + timedelta(days=18 * 365)
            dob = oldest + timedelta(days=r.randint(0, 20 * 365))
            if dob > date(2025, 12, 31):
                continue
            sex = r.choice("MF")
            if sex == "M" and r.random() < 0.08:
                given = father.given_name  # junior: same name as father at the same address
            else:
                given = g.given(sex, used)
            used.add(given)
            add_person(family, given, dob, sex, postcode, trust)
            if r.random() < 0.04:
                # Twins: same birthday, surname and address, different forenames.
                twin_sex = r.choice("MF")
                twin_given = g.given(twin_sex, used)
                used.add(twin_given)
                add_person(family, twin_given, dob, twin_sex, postcode, trust)

    records: list[dict[str, str]] = []

    def emit(person: Person, trust: str, errors: list[str], fields: dict[str, str]) -> None:
        nhs = "" if r.random() < nhs_missing_rate else person.nhs_number
        record = {
            "record_id": f"R{len(records) + 1:07d}",
            "nhs_number": nhs,
            "trust_code": trust,
            "hospital_number": g.hospital_number(trust),
            "true_person_id": person.person_id,
            "errors": "+".join(errors),
            **fields,
        }
        if r.random() < 0.03:
            record["sex"] = ""
        if r.random() < 0.03:
            record["postcode"] = ""
        records.append(record)

    for person in people:
        base = {
            "family_name": person.family_name,
            "given_name": person.given_name,
            "date_of_birth": person.date_of_birth.isoformat(),
            "sex": person.sex,
            "postcode": person.postcode,
        }
        emit(person, person.home_trust, [], dict(base))
        if r.random() >= duplicate_rate:
            continue
        for _ in range(1 if r.random() < 0.75 else 2):
            trust = (
                person.home_trust
                if r.random() < 0.25
                else r.choice([t for t in trusts if t != person.home_trust])
            )
            n_errors = r.choices((0, 1, 2), (0.3, 0.45, 0.25))[0]
            errors: list[str] = []
            while len(errors) < n_errors:
                error = r.choices(list(ERROR_WEIGHTS), list(ERROR_WEIGHTS.values()))[0]
                if error not in errors:
                    errors.append(error)
            fields = dict(base)
            applied = _apply_errors(g, person, fields, errors)
            emit(person, trust, applied, fields)
    return GeneratedSet(people=people, records=records)


def _apply_errors(g: _Generator, person: Person, fields: dict[str, str], errors: list[str]) -> list[str]:
    r = g.rng
    applied: list[str] = []
    dob = person.date_of_birth
    for error in errors:
        if error == "family-typo":
            fields["family_name"] = g.typo(fields["family_name"])
        elif error == "given-typo":
            fields["given_name"] = g.typo(fields["given_name"])
        elif error == "nickname":
            variants = g.nicknames.get(person.given_name.upper())
            if not variants:
                continue
            fields["given_name"] = r.choice(variants)
        elif error == "given-initial":
            fields["given_name"] = fields["given_name"][0]
        elif error == "swapped-names":
            fields["family_name"], fields["given_name"] = fields["given_name"], fields["family_name"]
        elif error == "dob-transposed":
            if dob.day > 12 or dob.day == dob.month:
                continue
            fields["date_of_birth"] = date(dob.year, dob.day, dob.month).isoformat()
        elif error == "dob-typo":
            part = r.choice(("day", "month", "year"))
            try:
                if part == "day":
                    new = dob.replace(day=dob.day + r.choice((-1, 1, 10, -10)))
                elif part == "month":
                    new = dob.replace(month=dob.month + r.choice((-1, 1)))
                else:
                    new = dob.replace(year=dob.year + r.choice((-1, 1, 10, -10)))
            except ValueError:
                continue
            fields["date_of_birth"] = new.isoformat()
        elif error == "changed-surname":
            if person.sex != "F" or (date(2026, 1, 1) - dob).days < 18 * 365:
                continue
            fields["family_name"] = g.family_name()
            if r.random() < 0.3:
                fields["postcode"] = g.postcode()
        elif error == "moved":
            fields["postcode"] = g.postcode()
        applied.append(error)
    return applied


def write_csv(generated: GeneratedSet, path: Path) -> None:
    """Writes the generated records to a CSV with the dedupe columns plus true_person_id and errors."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(generated.records)


def main() -> None:
    """Writes a generated record set to a CSV file."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    generated = generate(args.records, seed=args.seed)
    write_csv(generated, args.out)
    print(f"{len(generated.records)} records of {len(generated.people)} people -> {args.out}")


if __name__ == "__main__":
    main()
