"""Pedigrees: PED files in and out, validation, relationships to a proband and SVG drawing."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

MALE, FEMALE, UNKNOWN_SEX = "male", "female", "unknown"
AFFECTED, UNAFFECTED, UNKNOWN_PHENOTYPE = "affected", "unaffected", "unknown"

_SEX_CODES = {"1": MALE, "2": FEMALE, "0": UNKNOWN_SEX, "other": UNKNOWN_SEX}
_PHENOTYPE_CODES = {"1": UNAFFECTED, "2": AFFECTED, "0": UNKNOWN_PHENOTYPE, "-9": UNKNOWN_PHENOTYPE}
_MISSING_PARENT = {"0", "", "."}
_HEADER_FIRST_COLUMNS = {"family", "family_id", "familyid", "fid", "family id", "famid", "pedigree"}


class PedigreeError(ValueError):
    """A PED file or pedigree is inconsistent; lists (line, individual, message) for every problem."""

    def __init__(self, source: str, problems: Iterable[tuple[int | None, str, str]]) -> None:
        self.source = source
        #: (line number or None, individual id, message) for every problem found.
        self.problems = list(problems)
        parts = []
        for line, individual, message in self.problems:
            where = f"line {line}" if line is not None else "pedigree"
            who = f" (individual {individual})" if individual else ""
            parts.append(f"{where}{who}: {message}")
        super().__init__(f"{source}: " + "; ".join(parts))


@dataclass(frozen=True)
class Individual:
    """One member of a family as a PED line records them."""

    family_id: str
    individual_id: str
    #: None when the father is not recorded ("0" in PED).
    father_id: str | None
    mother_id: str | None
    #: male, female or unknown.
    sex: str
    #: affected, unaffected or unknown.
    phenotype: str
    #: The PED line this came from; None for parents created as unknown founders.
    line: int | None = field(default=None, compare=False)

    @property
    def is_founder(self) -> bool:
        """True when neither parent is recorded."""
        return self.father_id is None and self.mother_id is None


@dataclass(frozen=True)
class Pedigree:
    """The individuals of one or more families, validated: unique ids, real parents, no loops."""

    individuals: tuple[Individual, ...]

    def get(self, individual_id: str) -> Individual:
        """The individual with this id (KeyError naming it when absent)."""
        for individual in self.individuals:
            if individual.individual_id == individual_id:
                return individual
        raise KeyError(f"no individual {individual_id!r} in the pedigree")

    @property
    def ids(self) -> list[str]:
        """Individual ids in file order."""
        return [i.individual_id for i in self.individuals]

    def parents(self, individual_id: str) -> list[str]:
        """The recorded parents of an individual (father first)."""
        person = self.get(individual_id)
        return [p for p in (person.father_id, person.mother_id) if p is not None]

    def children(self, individual_id: str) -> list[str]:
        """The children of an individual, in file order."""
        return [i.individual_id for i in self.individuals if individual_id in (i.father_id, i.mother_id)]

    def partners(self, individual_id: str) -> list[str]:
        """The other parents of this individual's children, in order of first child."""
        found: list[str] = []
        for child in self.children(individual_id):
            for parent in self.parents(child):
                if parent != individual_id and parent not in found:
                    found.append(parent)
        return found


# ---------------------------------------------------------------------------------------------------------
# PED in and out


def read_ped(source: str | Path, *, create_missing_parents: bool = False) -> Pedigree:
    """Reads a 6-column PED file (path or text); unknown parent ids are an error unless asked to create them."""
    # One line with fewer than six fields cannot be a PED record, so it is a file name.
    if isinstance(source, Path) or ("\n" not in source and len(source.split()) < 6):
        name = str(source)
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise PedigreeError(name, [(None, "", f"cannot read file: {exc.strerror or exc}")]) from exc
    else:
        name, text = "<ped>", source
    problems: list[tuple[int | None, str, str]] = []
    individuals: list[Individual] = []
    seen_data = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        columns = line.split("\t") if "\t" in line else line.split()
        columns = [c.strip() for c in columns]
        if not seen_data and columns[0].lower() in _HEADER_FIRST_COLUMNS:
            continue
        seen_data = True
        if len(columns) < 6:
            problems.append(
                (number, columns[0] if columns else "", f"expected 6 columns, found {len(columns)}")
            )
            continue
        family_id, individual_id, father, mother, sex_code, phenotype_code = columns[:6]
        if not individual_id or individual_id in _MISSING_PARENT:
            problems.append((number, individual_id, "individual id is empty or 0"))
            continue
        sex = _SEX_CODES.get(sex_code.lower())
        if sex is None:
            problems.append(
                (number, individual_id, f"sex {sex_code!r} is not 1 (male), 2 (female) or 0 (unknown)")
            )
            sex = UNKNOWN_SEX
        phenotype = _PHENOTYPE_CODES.get(phenotype_code)
        if phenotype is None:
            problems.append(
                (
                    number,
                    individual_id,
                    f"phenotype {phenotype_code!r} is not 1, 2, 0 or -9 (affected status)",
                )
            )
            phenotype = UNKNOWN_PHENOTYPE
        individuals.append(
            Individual(
                family_id=family_id,
                individual_id=individual_id,
                father_id=None if father in _MISSING_PARENT else father,
                mother_id=None if mother in _MISSING_PARENT else mother,
                sex=sex,
                phenotype=phenotype,
                line=number,
            )
        )
    if problems:
        raise PedigreeError(name, problems)
    return validate_pedigree(individuals, source_name=name, create_missing_parents=create_missing_parents)


def validate_pedigree(
    individuals: Iterable[Individual],
    *,
    source_name: str = "<pedigree>",
    create_missing_parents: bool = False,
) -> Pedigree:
    """Checks ids, parents, sexes and loops; returns the pedigree or raises PedigreeError listing every problem."""
    people = list(individuals)
    problems: list[tuple[int | None, str, str]] = []
    by_id: dict[str, Individual] = {}
    for person in people:
        if person.individual_id in by_id:
            first = by_id[person.individual_id].line
            problems.append(
                (person.line, person.individual_id, f"duplicate individual id (first on line {first})")
            )
        else:
            by_id[person.individual_id] = person
    created: dict[str, Individual] = {}
    for person in people:
        for role, parent_id, expected_sex in (
            ("father", person.father_id, MALE),
            ("mother", person.mother_id, FEMALE),
        ):
            if parent_id is None:
                continue
            if parent_id == person.individual_id:
                problems.append((person.line, person.individual_id, f"is recorded as their own {role}"))
                continue
            parent = by_id.get(parent_id) or created.get(parent_id)
            if parent is None:
                if create_missing_parents:
                    created[parent_id] = Individual(
                        person.family_id, parent_id, None, None, expected_sex, UNKNOWN_PHENOTYPE, None
                    )
                else:
                    problems.append(
                        (person.line, person.individual_id, f"{role} {parent_id!r} is not in the pedigree")
                    )
                continue
            if parent.family_id != person.family_id:
                problems.append(
                    (
                        person.line,
                        person.individual_id,
                        f"{role} {parent_id!r} belongs to family {parent.family_id!r}",
                    )
                )
            if parent.sex not in (expected_sex, UNKNOWN_SEX):
                problems.append(
                    (
                        person.line,
                        person.individual_id,
                        f"{role} {parent_id!r} is recorded as {parent.sex} (sex conflict)",
                    )
                )
        if person.father_id is not None and person.father_id == person.mother_id:
            problems.append(
                (person.line, person.individual_id, f"father and mother are both {person.father_id!r}")
            )
    # A parent created on demand takes the role it was first named in; a second role conflicting is a problem.
    for person in people:
        for role, parent_id, expected_sex in (
            ("father", person.father_id, MALE),
            ("mother", person.mother_id, FEMALE),
        ):
            if parent_id in created and created[parent_id].sex != expected_sex:
                problems.append(
                    (
                        person.line,
                        person.individual_id,
                        f"{role} {parent_id!r} is also recorded as another's parent of the other sex",
                    )
                )
    all_people = {**by_id, **created}
    problems.extend(_loops(all_people))
    if problems:
        raise PedigreeError(source_name, problems)
    return Pedigree(individuals=tuple(people) + tuple(created.values()))


def _loops(people: dict[str, Individual]) -> list[tuple[int | None, str, str]]:
    """Every individual who is their own ancestor, found by depth-first search over parent links."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    problems: list[tuple[int | None, str, str]] = []

    def parents_of(person_id: str) -> list[str]:
        person = people.get(person_id)
        if person is None:
            return []
        return [
            p
            for p in (person.father_id, person.mother_id)
            if p is not None and p in people and p != person_id
        ]

    for start in people:
        if state.get(start):
            continue
        # Iterative DFS: pedigrees can be deep enough that recursion is not worth the risk.
        stack: list[tuple[str, list[str]]] = [(start, parents_of(start))]
        path = [start]
        state[start] = 1
        while stack:
            node, pending = stack[-1]
            if not pending:
                stack.pop()
                path.pop()
                state[node] = 2
                continue
            parent = pending.pop()
            if state.get(parent) == 1:
                cycle = path[path.index(parent) :] + [parent]
                person = people[parent]
                problems.append(
                    (
                        person.line,
                        parent,
                        "is their own ancestor (loop: " + " -> child of -> ".join(cycle) + ")",
                    )
                )
            elif not state.get(parent):
                state[parent] = 1
                path.append(parent)
                stack.append((parent, parents_of(parent)))
    return problems


def write_ped(pedigree: Pedigree) -> str:
    """The pedigree as a tab-separated 6-column PED text with a header comment."""
    sex_code = {MALE: "1", FEMALE: "2", UNKNOWN_SEX: "0"}
    phenotype_code = {AFFECTED: "2", UNAFFECTED: "1", UNKNOWN_PHENOTYPE: "0"}
    lines = ["#family_id\tindividual_id\tpaternal_id\tmaternal_id\tsex\tphenotype"]
    for person in pedigree.individuals:
        lines.append(
            "\t".join(
                (
                    person.family_id,
                    person.individual_id,
                    person.father_id or "0",
                    person.mother_id or "0",
                    sex_code[person.sex],
                    phenotype_code[person.phenotype],
                )
            )
        )
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------
# Structure: founders, generations, relationships, consanguinity


def founders(pedigree: Pedigree) -> list[str]:
    """Individuals with no recorded parents, in file order."""
    return [i.individual_id for i in pedigree.individuals if i.is_founder]


def ancestors(pedigree: Pedigree, individual_id: str) -> dict[str, int]:
    """Every ancestor of an individual with the fewest generations up to them (parents are 1)."""
    depth: dict[str, int] = {}
    frontier = [(p, 1) for p in pedigree.parents(individual_id)]
    while frontier:
        person, up = frontier.pop()
        if person in depth and depth[person] <= up:
            continue
        depth[person] = up
        frontier.extend((p, up + 1) for p in pedigree.parents(person))
    return depth


def generations(pedigree: Pedigree) -> dict[str, int]:
    """Generation number of each individual, 0 at the top; founders sit one above their highest child."""
    gen: dict[str, int] = {}
    remaining = list(pedigree.ids)
    while remaining:
        # Validation ruled out loops, so each pass places at least one individual.
        still = []
        for person_id in remaining:
            parents = pedigree.parents(person_id)
            if all(p in gen for p in parents):
                gen[person_id] = 1 + max((gen[p] for p in parents), default=-1)
            else:
                still.append(person_id)
        remaining = still
    # A founder who married in belongs beside their partner, not at the top of the drawing.
    for person_id in founders(pedigree):
        children = pedigree.children(person_id)
        if children:
            gen[person_id] = min(gen[c] for c in children) - 1
    lowest = min(gen.values(), default=0)
    return {person_id: g - lowest for person_id, g in gen.items()}


_ANCESTOR_NAMES = {1: "parent", 2: "grandparent", 3: "great_grandparent"}
_DESCENDANT_NAMES = {1: "child", 2: "grandchild", 3: "great_grandchild"}
_COLLATERAL_NAMES = {(2, 1): "aunt_uncle", (1, 2): "niece_nephew", (2, 2): "first_cousin"}


def relationship(pedigree: Pedigree, proband_id: str, relative_id: str) -> str:
    """How `relative_id` is related to the proband: father, mother, sibling, child, grandparent, ..."""
    if relative_id == proband_id:
        return "self"
    proband = pedigree.get(proband_id)
    relative = pedigree.get(relative_id)
    if relative_id == proband.father_id:
        return "father"
    if relative_id == proband.mother_id:
        return "mother"
    up_proband = {proband_id: 0, **ancestors(pedigree, proband_id)}
    up_relative = {relative_id: 0, **ancestors(pedigree, relative_id)}
    if relative_id in up_proband:
        return _ANCESTOR_NAMES.get(up_proband[relative_id], "ancestor")
    if proband_id in up_relative:
        return _DESCENDANT_NAMES.get(up_relative[proband_id], "descendant")
    common = set(up_proband) & set(up_relative)
    if common:
        a, b = min(((up_proband[c], up_relative[c]) for c in common), key=lambda ab: (ab[0] + ab[1], ab))
        if (a, b) == (1, 1):
            shared = set(pedigree.parents(proband_id)) & set(pedigree.parents(relative_id))
            both_known = len(pedigree.parents(proband_id)) == 2 and len(pedigree.parents(relative_id)) == 2
            return "sibling" if len(shared) == 2 or not both_known else "half_sibling"
        return _COLLATERAL_NAMES.get((a, b), "relative")
    if relative_id in pedigree.partners(proband_id):
        return "partner"
    if relative.family_id == proband.family_id:
        # Related by marriage only (e.g. a sibling's partner) or not linked at all.
        return "other"
    return "unrelated"


def relationships(pedigree: Pedigree, proband_id: str) -> dict[str, str]:
    """The relationship of every individual to the proband, in file order."""
    pedigree.get(proband_id)
    return {person_id: relationship(pedigree, proband_id, person_id) for person_id in pedigree.ids}


def consanguineous_couples(pedigree: Pedigree) -> list[tuple[str, str]]:
    """Couples (father, mother) who share an ancestor in the pedigree."""
    couples: list[tuple[str, str]] = []
    for person in pedigree.individuals:
        if person.father_id is None or person.mother_id is None:
            continue
        couple = (person.father_id, person.mother_id)
        if couple in couples:
            continue
        father_up = {couple[0], *ancestors(pedigree, couple[0])}
        mother_up = {couple[1], *ancestors(pedigree, couple[1])}
        if father_up & mother_up:
            couples.append(couple)
    return couples


# ---------------------------------------------------------------------------------------------------------
# Drawing

_SIZE = 36  # symbol width and height
_GAP = 28  # horizontal space between symbols
_ROW = 120  # vertical distance between generations
_MARGIN = 48
_STROKE = 'stroke="black" stroke-width="2"'


def draw_pedigree_svg(pedigree: Pedigree, *, proband: str | None = None, deceased: Iterable[str] = ()) -> str:
    """The pedigree drawn as standard symbols in an SVG document, one row per generation."""
    if proband is not None:
        pedigree.get(proband)
    dead = set(deceased)
    for person_id in dead:
        pedigree.get(person_id)
    gen = generations(pedigree)
    x = _layout(pedigree, gen)

    def top(person_id: str) -> float:
        return _MARGIN + gen[person_id] * _ROW

    couples = _couples(pedigree)
    consanguineous = set(consanguineous_couples(pedigree))
    order_in_row: dict[int, list[str]] = {}
    for person_id in sorted(x, key=lambda p: x[p]):
        order_in_row.setdefault(gen[person_id], []).append(person_id)

    descents = {
        parents: _descent(parents, children, x, top, couples, order_in_row, gen)
        for parents, children in _sibships(pedigree).items()
    }
    lines: list[str] = []
    for father, mother in couples:
        ya, yb = top(father) + _SIZE / 2, top(mother) + _SIZE / 2
        left, right = sorted((father, mother), key=lambda p: x[p])
        between = _between(order_in_row, gen, left, right, x)
        double = (father, mother) in consanguineous
        if gen[father] == gen[mother] and not between:
            x1, x2 = x[left] + _SIZE, x[right]
            offsets = (-3, 3) if double else (0,)
            for dy in offsets:
                lines.append(_line(x1, ya + dy, x2, yb + dy, "marriage"))
        else:
            # Partners not side by side: an arch above the row keeps the line off other symbols.
            arch = min(top(father), top(mother)) - 10
            xa, xb = x[left] + _SIZE / 2, x[right] + _SIZE / 2
            for dy in (-3, 3) if double else (0,):
                lines.append(
                    f'<polyline class="marriage" fill="none" {_STROKE} points="{xa},{top(left)} {xa},{arch + dy} '
                    f'{xb},{arch + dy} {xb},{top(right)}"/>'
                )
            descent = descents.get((father, mother))
            # The line down to the children may leave the arch beyond its ends, where a free column was found.
            if descent is not None and not xa <= descent[0] <= xb:
                end = xa if descent[0] < xa else xb
                lines.append(_line(end, arch, descent[0], arch, "marriage-link"))
    lines.extend(_sibship_lines([d for d in descents.values() if d is not None], x, top))

    symbols = [_symbol(pedigree.get(p), x[p], top(p), p in dead, p == proband) for p in pedigree.ids]
    width = max(x.values(), default=0) + _SIZE + 2 * _MARGIN
    height = (max(gen.values(), default=0) + 1) * _ROW + _MARGIN
    header = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}" height="{height:g}" '
        f'viewBox="0 0 {width:g} {height:g}" font-family="sans-serif" font-size="11">'
    )
    return "\n".join([header, "<title>Pedigree</title>", *lines, *symbols, "</svg>"]) + "\n"


def _couples(pedigree: Pedigree) -> list[tuple[str, str]]:
    """Every (father, mother) pair with a child together, in order of first child."""
    found: list[tuple[str, str]] = []
    for person in pedigree.individuals:
        if person.father_id is not None and person.mother_id is not None:
            couple = (person.father_id, person.mother_id)
            if couple not in found:
                found.append(couple)
    return found


def _sibships(pedigree: Pedigree) -> dict[tuple[str | None, str | None], list[str]]:
    """Children grouped by their pair of recorded parents."""
    groups: dict[tuple[str | None, str | None], list[str]] = {}
    for person in pedigree.individuals:
        if not person.is_founder:
            groups.setdefault((person.father_id, person.mother_id), []).append(person.individual_id)
    return groups


def _layout(pedigree: Pedigree, gen: dict[str, int]) -> dict[str, float]:
    """x of each symbol's left edge: sibships under their parents, partners beside, no two symbols overlapping."""
    # Wide enough that the longest id label (about 7.5 px a character at 11 px) does not touch its neighbour.
    step = max(_SIZE + _GAP, 7.5 * max((len(i) for i in pedigree.ids), default=0) + 16)
    gap = step - _SIZE
    x: dict[str, float] = {}
    placed: set[str] = set()
    sibships = _sibships(pedigree)
    for row in range(max(gen.values(), default=-1) + 1):
        in_row = [p for p in pedigree.ids if gen[p] == row]
        # Blocks: a sibship (or a lone individual) with the founders who married in, each wanting a centre.
        blocks: list[tuple[float, list[tuple[str, list[str]]]]] = []
        for parents, children in sibships.items():
            members = [c for c in children if gen[c] == row and c not in placed]
            if not members:
                continue
            known = [x[p] + _SIZE / 2 for p in parents if p is not None and p in x]
            want = sum(known) / len(known) if known else 0.0
            blocks.append((want, _units(pedigree, members, gen, row, placed)))
        for person_id in in_row:
            if person_id not in placed:
                blocks.append((float("inf"), _units(pedigree, [person_id], gen, row, placed)))
        blocks.sort(key=lambda block: block[0])
        block_of = {member: i for i, (_, units) in enumerate(blocks) for member, _ in units}
        cursor = float(_MARGIN)
        for index, (want, units) in enumerate(blocks):
            members = _arrange(pedigree, units, index, block_of)
            width = len(members) * step - gap
            start = cursor if want == float("inf") else max(cursor, want - width / 2)
            for i, member in enumerate(members):
                x[member] = start + i * step
            cursor = start + width + gap
    return x


def _arrange(
    pedigree: Pedigree, units: list[tuple[str, list[str]]], index: int, block_of: dict[str, int]
) -> list[str]:
    """Orders one block so that a member whose partner is in an earlier block comes first, a later one last."""

    def facing(member: str) -> int:
        sides = [block_of[p] - index for p in pedigree.partners(member) if block_of.get(p, index) != index]
        if not sides:
            return 0
        return 1 if min(sides) > 0 else -1 if max(sides) < 0 else 0

    ordered: list[str] = []
    for member, partners in sorted(units, key=lambda unit: facing(unit[0])):
        side = facing(member)
        if side > 0:
            ordered.extend([*partners, member])
        elif side < 0 or len(partners) < 2:
            ordered.extend([member, *partners])
        else:
            ordered.extend([partners[0], member, *partners[1:]])
    return ordered


def _units(
    pedigree: Pedigree, members: list[str], gen: dict[str, int], row: int, placed: set[str]
) -> list[tuple[str, list[str]]]:
    """Each member with the founder partners of the same row not yet placed."""
    units: list[tuple[str, list[str]]] = []
    for member in members:
        if member in placed:
            continue
        placed.add(member)
        # Partners with parents of their own are drawn in their own sibship.
        partners = [
            p
            for p in pedigree.partners(member)
            if gen[p] == row and p not in placed and p not in members and pedigree.get(p).is_founder
        ]
        placed.update(partners)
        units.append((member, partners))
    return units


def _between(
    order_in_row: dict[int, list[str]], gen: dict[str, int], left: str, right: str, x: dict[str, float]
) -> bool:
    """True when another symbol sits between two partners in the same row."""
    if gen[left] != gen[right]:
        return True
    return any(x[left] < x[p] < x[right] for p in order_in_row[gen[left]])


def _descent(
    parents: tuple[str | None, str | None],
    children: list[str],
    x: dict[str, float],
    top: Callable[[str], float],
    couples: list[tuple[str, str]],
    order_in_row: dict[int, list[str]],
    gen: dict[str, int],
) -> tuple[float, float, list[str]] | None:
    """Where the line down from the parents starts (x, y), and the children it leads to."""
    known = [p for p in parents if p is not None]
    if not known:
        return None
    if len(known) == 2 and (known[0], known[1]) in couples:
        left, right = sorted(known, key=lambda p: x[p])
        drop_x = (x[left] + x[right] + _SIZE) / 2
        if _between(order_in_row, gen, left, right, x):
            drop_y = min(top(left), top(right)) - 10  # from the arch
            rows = range(min(gen[left], gen[right]), max(gen[left], gen[right]) + 1)
            drop_x = _free_column(x, gen, rows, x[left] + _SIZE / 2, x[right] + _SIZE / 2, drop_x)
        else:
            drop_y = top(left) + _SIZE / 2
    else:
        drop_x = x[known[0]] + _SIZE / 2
        drop_y = top(known[0]) + _SIZE
    return drop_x, drop_y, children


def _free_column(
    x: dict[str, float], gen: dict[str, int], rows: range, low: float, high: float, prefer: float
) -> float:
    """The x nearest `prefer`, inside [low, high] if possible, where a vertical line crosses no symbol in `rows`."""
    occupied = [(x[p] - 2, x[p] + _SIZE + 2) for p in x if gen[p] in rows]
    candidates = [prefer] + [edge for a, b in occupied for edge in (a - 4, b + 4)]
    free = [c for c in candidates if c > 0 and not any(a < c < b for a, b in occupied)]
    return min(free, key=lambda c: (not low <= c <= high, abs(c - prefer))) if free else prefer


def _sibship_lines(
    descents: list[tuple[float, float, list[str]]], x: dict[str, float], top: Callable[[str], float]
) -> list[str]:
    """For each sibship the drop from the parents, the horizontal sibship line and a line up to each child."""
    # Sibship lines that would overlap in one row are drawn at different heights so each stays readable.
    spans = []
    for drop_x, drop_y, children in descents:
        xs = [x[c] + _SIZE / 2 for c in children]
        spans.append(
            (min(top(c) for c in children), min(xs + [drop_x]), max(xs + [drop_x]), drop_x, drop_y, xs)
        )
    spans.sort(key=lambda span: (span[0], span[1]))
    level_ends: dict[float, list[float]] = {}
    out: list[str] = []
    for child_top, left, right, drop_x, drop_y, xs in spans:
        ends = level_ends.setdefault(child_top, [])
        level = next((i for i, end in enumerate(ends) if end + 8 < left), len(ends))
        if level == len(ends):
            ends.append(right)
        else:
            ends[level] = right
        bar_y = child_top - 24 - 10 * min(level, 3)
        out.append(_line(drop_x, drop_y, drop_x, bar_y, "descent"))
        out.append(_line(left, bar_y, right, bar_y, "sibship"))
        out.extend(_line(cx, bar_y, cx, child_top, "descent") for cx in xs)
    return out


def _line(x1: float, y1: float, x2: float, y2: float, css_class: str) -> str:
    return f'<line class="{css_class}" x1="{x1:g}" y1="{y1:g}" x2="{x2:g}" y2="{y2:g}" {_STROKE}/>'


def _symbol(person: Individual, left: float, top: float, dead: bool, is_proband: bool) -> str:
    """Square for male, circle for female, diamond for unknown sex; filled when affected."""
    fill = "black" if person.phenotype == AFFECTED else "white"
    classes = (
        f"individual {person.sex} {person.phenotype}"
        + (" deceased" if dead else "")
        + (" proband" if is_proband else "")
    )
    half = _SIZE / 2
    cx, cy = left + half, top + half
    parts = [f'<g class="{classes}" data-id="{escape(person.individual_id, {chr(34): "&quot;"})}">']
    if person.sex == MALE:
        parts.append(
            f'<rect x="{left:g}" y="{top:g}" width="{_SIZE}" height="{_SIZE}" fill="{fill}" {_STROKE}/>'
        )
    elif person.sex == FEMALE:
        parts.append(f'<circle cx="{cx:g}" cy="{cy:g}" r="{half:g}" fill="{fill}" {_STROKE}/>')
    else:
        points = f"{cx:g},{top:g} {left + _SIZE:g},{cy:g} {cx:g},{top + _SIZE:g} {left:g},{cy:g}"
        parts.append(f'<polygon points="{points}" fill="{fill}" {_STROKE}/>')
    if person.phenotype == UNKNOWN_PHENOTYPE:
        parts.append(f'<text x="{cx:g}" y="{cy + 4:g}" text-anchor="middle">?</text>')
    if dead:
        parts.append(_line(left - 6, top + _SIZE + 6, left + _SIZE + 6, top - 6, "deceased-mark"))
    if is_proband:
        # The proband arrow comes from the lower left, above the label, and points at the symbol.
        tip_x, tip_y = left - 3, top + _SIZE - 6
        parts.append(_line(tip_x - 26, tip_y + 14, tip_x - 6, tip_y + 3, "proband-arrow"))
        parts.append(
            f'<polygon class="proband-arrowhead" points="{tip_x:g},{tip_y:g} {tip_x - 11:g},{tip_y - 1:g} '
            f'{tip_x - 6:g},{tip_y + 8:g}" fill="black"/>'
        )
    label = escape(person.individual_id)
    parts.append(f'<text x="{cx:g}" y="{top + _SIZE + 16:g}" text-anchor="middle">{label}</text>')
    parts.append("</g>")
    return "".join(parts)
