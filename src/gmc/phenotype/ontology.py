"""The Human Phenotype Ontology: terms, hierarchy, lookup and type-ahead search, loaded once per process.

One HPO implementation: the maintained ``hpo3`` package (Rust) loads the ontology and its gene and disease
annotations, either the release it ships (``GMC_HPO_RELEASE=package``, the default: 2025-11-24 in hpo3 1.5) or
a dated release whose files are in ``GMC_REFDATA/hpo`` (e.g. ``GMC_HPO_RELEASE=2025-01-16``). hpo3 carries no
synonyms, definitions or alternative ids; those, which the capture UI's search needs, are read from the OBO
file of the same release, or for the package release the newest OBO in refdata (``hp_<date>.obo.gz``), for the
ids hpo3 knows. What hpo3 builds is turned into plain data (``Ontology``) once and cached on disk, so a process
does not load hpo3 again while the sources are unchanged.
"""

from __future__ import annotations

import gc
import gzip
import hashlib
import heapq
import math
import os
import pickle
import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

#: Root of the whole ontology and of the phenotypic-abnormality subtree.
ROOT_ID = "HP:0000001"
PHENOTYPIC_ABNORMALITY_ID = "HP:0000118"
#: Subtrees offered by the capture UI next to the phenotype terms.
ONSET_ID = "HP:0003674"
SEVERITY_ID = "HP:0012824"
LATERALITY_ID = "HP:0012831"
PACE_OF_PROGRESSION_ID = "HP:0003679"
TEMPORAL_PATTERN_ID = "HP:0011008"

#: GMC_HPO_RELEASE value for the release the hpo3 package ships, with its gene and disease annotations.
PACKAGE_RELEASE = "package"
#: The files of one dated HPO release in GMC_REFDATA/hpo (GMC_HPO_RELEASE=<date>). Gzipped or plain.
HPO_RELEASE_FILES = {
    "obo": "hpo_{release}_hp.obo",
    "hpoa": "hpo_{release}_phenotype.hpoa",
    "genes_to_phenotype": "hpo_{release}_genes_to_phenotype.txt",
}
_RELEASE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: Bump when the cached form changes so old caches are ignored.
CACHE_FORMAT = 3

T = TypeVar("T")

_HPO_ID = re.compile(r"^HP:\d{7}$")
_BARE_ID = re.compile(r"^(?:HP[:_])?(\d{7})$", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")
_SYNONYM = re.compile(r'^"((?:[^"\\]|\\.)*)"\s+(\w+)')
_DEF = re.compile(r'^"((?:[^"\\]|\\.)*)"')


class HpoFormatError(ValueError):
    """An HPO source file is malformed; the message names the file and line."""


class UnknownTermError(ValueError):
    """An HPO id is malformed or not in the ontology; the message names the id."""

    def __init__(self, term_id: str, reason: str) -> None:
        super().__init__(f"{term_id!r}: {reason}")
        self.term_id = term_id


@dataclass(frozen=True, slots=True)
class Term:
    """One HPO term as released."""

    #: Primary id, e.g. HP:0001250.
    id: str
    #: Preferred label, e.g. Seizure.
    name: str
    #: Textual definition ("" when the release has none).
    definition: str = ""
    #: Exact, related, broad and narrow synonyms, in file order.
    synonyms: tuple[str, ...] = ()
    #: Direct is_a parents.
    parents: tuple[str, ...] = ()
    is_obsolete: bool = False
    #: The term that replaces an obsolete one, when the release names it.
    replaced_by: str | None = None
    #: Former ids merged into this term.
    alt_ids: tuple[str, ...] = ()
    #: Terms an obsolete term suggests instead, when it has no single replacement.
    consider: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TermWarning:
    """Why a requested id was answered with another term (for the capture UI to show)."""

    requested_id: str
    resolved_id: str
    #: "alt_id" (merged into the resolved term) or "obsolete" (replaced by it).
    reason: str

    def __str__(self) -> str:
        """A sentence for the user."""
        if self.reason == "alt_id":
            return f"{self.requested_id} is an alternative id of {self.resolved_id}"
        return f"{self.requested_id} is obsolete and replaced by {self.resolved_id}"


@dataclass(frozen=True, slots=True)
class Resolution:
    """A looked-up term, with a warning when the requested id was not its primary id."""

    term: Term
    warning: TermWarning | None = None


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One type-ahead result: the term, which text matched and the rank tier."""

    term: Term
    #: The label or synonym that matched.
    matched_text: str
    #: 0 exact id, 1 exact label, 2 exact synonym, 3 label prefix, 4 label word prefix,
    #: 5 synonym prefix, 6 synonym word prefix.
    tier: int


def normalise_id(term_id: str) -> str:
    """Canonical HP:NNNNNNN form of an id typed as HP:0001250, HP_0001250, hp:0001250 or 0001250."""
    match = _BARE_ID.match(term_id.strip()) if isinstance(term_id, str) else None
    if match is None:
        raise UnknownTermError(str(term_id), "not an HPO id (expected HP: followed by 7 digits)")
    return f"HP:{match.group(1)}"


@dataclass
class _SearchIndex:
    """Words of labels and synonyms, sorted for prefix lookup by bisection."""

    words: list[str]
    #: The current terms, in the order the postings index them.
    terms: list[Term]
    #: postings[i] = term indices whose label or a synonym has words[i].
    postings: list[tuple[int, ...]]
    labels_lower: list[str]
    synonyms_lower: list[tuple[str, ...]]


@dataclass
class Ontology:
    """The HPO hierarchy of one release, with id resolution and search."""

    #: Every term by primary id, obsolete ones included.
    terms: dict[str, Term]
    #: The obo header data-version, e.g. hp/releases/2025-01-16.
    data_version: str
    #: Number of diseases annotated directly with each term (ranks search results; empty without annotations).
    usage: dict[str, int] = field(default_factory=dict)
    _alt: dict[str, str] = field(default_factory=dict, repr=False)
    _children: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _label_index: dict[str, str] = field(default_factory=dict, repr=False)
    _synonym_index: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _ancestors: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    _search: _SearchIndex | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._alt = {alt: t.id for t in self.terms.values() for alt in t.alt_ids}
        children: dict[str, list[str]] = {}
        for term in self.terms.values():
            for parent in term.parents:
                children.setdefault(parent, []).append(term.id)
        self._children = children
        self._label_index = {}
        self._synonym_index = {}
        for term in self.terms.values():
            if term.is_obsolete:
                continue
            self._label_index.setdefault(term.name.casefold(), term.id)
            for synonym in term.synonyms:
                self._synonym_index.setdefault(synonym.casefold(), []).append(term.id)

    @property
    def release(self) -> str:
        """The release date, e.g. 2025-01-16 (from the obo data-version)."""
        return self.data_version.rsplit("/", 1)[-1]

    def __len__(self) -> int:
        return len(self.terms)

    def __contains__(self, term_id: object) -> bool:
        return isinstance(term_id, str) and (term_id in self.terms or term_id in self._alt)

    def current_terms(self) -> Iterator[Term]:
        """Every term that is not obsolete."""
        return (t for t in self.terms.values() if not t.is_obsolete)

    def resolve(self, term_id: str) -> Resolution:
        """The term for an id, following alt ids and replaced_by, with a warning when it did."""
        primary = normalise_id(term_id)
        warning = None
        if primary not in self.terms:
            if primary not in self._alt:
                raise UnknownTermError(term_id, f"not in HPO release {self.release}")
            warning = TermWarning(primary, self._alt[primary], "alt_id")
            primary = self._alt[primary]
        term = self.terms[primary]
        seen = {primary}
        while term.is_obsolete and term.replaced_by:
            # Replacement chains are short, but guard against a cycle in a broken release.
            target = self._alt.get(term.replaced_by, term.replaced_by)
            if target in seen or target not in self.terms:
                break
            seen.add(target)
            warning = TermWarning(warning.requested_id if warning else primary, target, "obsolete")
            term = self.terms[target]
        return Resolution(term, warning)

    def get(self, term_id: str) -> Term:
        """The current term for an id (alt and obsolete ids resolve to their replacement)."""
        return self.resolve(term_id).term

    def current_id(self, term_id: str) -> str:
        """The current primary id for an id; an obsolete term with no replacement is an error."""
        term = self.get(term_id)
        if term.is_obsolete:
            hint = f"; consider {', '.join(term.consider)}" if term.consider else ""
            raise UnknownTermError(term_id, f"obsolete with no replacement{hint}")
        return term.id

    def by_label(self, text: str) -> list[Term]:
        """Current terms whose label, or else one of whose synonyms, equals the text (case-insensitive)."""
        key = text.strip().casefold()
        if key in self._label_index:
            return [self.terms[self._label_index[key]]]
        return [self.terms[i] for i in self._synonym_index.get(key, [])]

    def parents(self, term_id: str) -> list[Term]:
        """Direct is_a parents."""
        return [self.terms[p] for p in self.get(term_id).parents]

    def children(self, term_id: str) -> list[Term]:
        """Direct is_a children that are current."""
        return [self.terms[c] for c in self._children.get(self.get(term_id).id, []) if not self.terms[c].is_obsolete]

    def ancestors(self, term_id: str, include_self: bool = False) -> frozenset[str]:
        """Ids of every term above this one (transitively through is_a)."""
        primary = self.get(term_id).id
        found = self._ancestors.get(primary)
        if found is None:
            found = self._ancestor_closure(primary)
        return found | {primary} if include_self else found

    def _ancestor_closure(self, primary: str) -> frozenset[str]:
        """Ancestors of a primary id, reusing (and filling) the per-term cache."""
        found: set[str] = set()
        stack = list(self.terms[primary].parents)
        while stack:
            node = stack.pop()
            if node in found:
                continue
            cached = self._ancestors.get(node)
            if cached is not None:
                found.add(node)
                found |= cached
                continue
            found.add(node)
            stack.extend(self.terms[node].parents)
        result = frozenset(found)
        self._ancestors[primary] = result
        return result

    def descendants(self, term_id: str, include_self: bool = False) -> frozenset[str]:
        """Ids of every current term below this one."""
        primary = self.get(term_id).id
        found: set[str] = set()
        stack = list(self._children.get(primary, []))
        while stack:
            node = stack.pop()
            if node not in found:
                found.add(node)
                stack.extend(self._children.get(node, []))
        if include_self:
            found.add(primary)
        return frozenset(found)

    def is_a(self, term_id: str, ancestor_id: str) -> bool:
        """True when the term is the given ancestor or lies below it."""
        child, ancestor = self.get(term_id).id, self.get(ancestor_id).id
        return child == ancestor or ancestor in self.ancestors(child)

    def subtree(self, root_id: str) -> list[Term]:
        """Current terms below a root (root excluded), parents before children, siblings in id order."""
        out: list[Term] = []
        seen: set[str] = set()
        queue = [self.get(root_id).id]
        while queue:
            level: list[str] = []
            for node in queue:
                for child in sorted(self._children.get(node, [])):
                    if child not in seen and not self.terms[child].is_obsolete:
                        seen.add(child)
                        out.append(self.terms[child])
                        level.append(child)
            queue = level
        return out

    def onset_terms(self) -> list[Term]:
        """Age-of-onset terms (HP:0003674 subtree) for the capture UI."""
        return self.subtree(ONSET_ID)

    def modifier_terms(self) -> dict[str, list[Term]]:
        """Clinical modifiers for the capture UI: severity, laterality, pace of progression, temporal pattern."""
        return {
            "severity": self.subtree(SEVERITY_ID),
            "laterality": self.subtree(LATERALITY_ID),
            "pace_of_progression": self.subtree(PACE_OF_PROGRESSION_ID),
            "temporal_pattern": self.subtree(TEMPORAL_PATTERN_ID),
        }

    # -- type-ahead search -------------------------------------------------------------------------------

    def _search_index(self) -> _SearchIndex:
        """The word index of labels and synonyms, built on first use."""
        if self._search is None:
            current = [t for t in self.terms.values() if not t.is_obsolete]
            postings: dict[str, set[int]] = {}
            labels, synonyms = [], []
            for index, term in enumerate(current):
                label = term.name.casefold()
                syns = tuple(s.casefold() for s in term.synonyms)
                labels.append(label)
                synonyms.append(syns)
                for text in (label, *syns):
                    for word in _WORD.findall(text):
                        postings.setdefault(word, set()).add(index)
            words = sorted(postings)
            self._search = _SearchIndex(words, current, [tuple(postings[w]) for w in words], labels, synonyms)
        return self._search

    def _prefix_candidates(self, index: _SearchIndex, prefix: str) -> set[int]:
        """Terms having a label or synonym word that starts with the prefix."""
        found: set[int] = set()
        position = bisect_left(index.words, prefix)
        while position < len(index.words) and index.words[position].startswith(prefix):
            found.update(index.postings[position])
            position += 1
        return found

    def search(self, text: str, limit: int = 20) -> list[SearchHit]:
        """Current terms matching typed text, most relevant first (see SearchHit.tier), for type-ahead."""
        query = text.strip().casefold()
        if not query or limit <= 0:
            return []
        hits: list[SearchHit] = []
        if _BARE_ID.match(query):
            try:
                resolution = self.resolve(query)
            except UnknownTermError:
                resolution = None
            if resolution is not None and not resolution.term.is_obsolete:
                hits.append(SearchHit(resolution.term, resolution.term.id, 0))
        words = _WORD.findall(query)
        if not words:
            return hits[:limit]
        index = self._search_index()
        # Start from the query word with the fewest candidates, then narrow.
        candidate_sets = sorted((self._prefix_candidates(index, w) for w in set(words)), key=len)
        candidates = set.intersection(*candidate_sets) if candidate_sets else set()
        terms = index.terms
        ranked = []
        for candidate in candidates:
            tier, matched = _match_tier(query, words, index.labels_lower[candidate], index.synonyms_lower[candidate])
            if tier is None:
                continue
            term = terms[candidate]
            label = term.name if matched < 0 else term.synonyms[matched]
            # More-used terms first within a tier (log-bucketed so that length still matters), then shorter.
            usage_bucket = int(math.log2(1 + self.usage.get(term.id, 0)))
            ranked.append(((tier, -usage_bucket, len(label), term.id), term, label))
        seen = {hit.term.id for hit in hits}
        for key, term, label in heapq.nsmallest(limit, ranked, key=lambda item: item[0]):
            if term.id not in seen:
                hits.append(SearchHit(term, label, key[0]))
        return hits[:limit]


def _words_prefix_match(words: list[str], text: str) -> bool:
    """True when every query word is a prefix of some word of the text."""
    text_words = _WORD.findall(text)
    return all(any(tw.startswith(w) for tw in text_words) for w in words)


def _match_tier(query: str, words: list[str], label: str, synonyms: tuple[str, ...]) -> tuple[int | None, int]:
    """The best tier at which the query matches a label or synonym, and which synonym (-1 for the label)."""
    if label == query:
        return 1, -1
    for position, synonym in enumerate(synonyms):
        if synonym == query:
            return 2, position
    if label.startswith(query):
        return 3, -1
    if _words_prefix_match(words, label):
        return 4, -1
    for position, synonym in enumerate(synonyms):
        if synonym.startswith(query):
            return 5, position
    for position, synonym in enumerate(synonyms):
        if _words_prefix_match(words, synonym):
            return 6, position
    return None, -1


# -- parsing -------------------------------------------------------------------------------------------------


def _unescape(text: str) -> str:
    """Undoes OBO escaping of quotes and backslashes."""
    return text.replace('\\"', '"').replace("\\\\", "\\")


def parse_obo(lines: Iterable[str], source: str = "<obo>") -> tuple[dict[str, Term], str]:
    """Terms and data-version from OBO 1.2 text; errors name the source and line."""
    terms: dict[str, Term] = {}
    data_version = ""
    current: dict[str, list[str]] | None = None
    in_header = True
    start_line = 0

    #: Line of each value of the stanza being read, so errors point at the offending line.
    value_lines: dict[str, list[int]] = {}

    def finish(stanza: dict[str, list[str]] | None, line_no: int) -> None:
        if stanza is None:
            return

        def at(tag: str, position: int = 0) -> int:
            return value_lines.get(tag, [line_no] * (position + 1))[position]

        ids = stanza.get("id")
        names = stanza.get("name")
        if not ids or not names:
            raise HpoFormatError(f"{source}:{line_no}: [Term] stanza without id or name")
        term_id = ids[0]
        if not _HPO_ID.match(term_id):
            raise HpoFormatError(f"{source}:{at('id')}: malformed term id {term_id!r}")
        if term_id in terms:
            raise HpoFormatError(f"{source}:{at('id')}: duplicate term id {term_id}")
        definition = ""
        if stanza.get("def"):
            match = _DEF.match(stanza["def"][0])
            definition = _unescape(match.group(1)) if match else stanza["def"][0]
        synonyms = []
        for position, raw in enumerate(stanza.get("synonym", [])):
            match = _SYNONYM.match(raw)
            if match is None:
                raise HpoFormatError(f"{source}:{at('synonym', position)}: malformed synonym {raw!r} in {term_id}")
            synonyms.append(_unescape(match.group(1)))
        parents = tuple(p.split("!")[0].strip() for p in stanza.get("is_a", []))
        replaced = stanza.get("replaced_by")
        terms[term_id] = Term(
            id=term_id,
            name=names[0],
            definition=definition,
            synonyms=tuple(synonyms),
            parents=parents,
            is_obsolete=stanza.get("is_obsolete", ["false"])[0] == "true",
            replaced_by=replaced[0] if replaced else None,
            alt_ids=tuple(stanza.get("alt_id", [])),
            consider=tuple(stanza.get("consider", [])),
        )

    line_no = 0
    for line_no, raw_line in enumerate(lines, start=1):
        line = raw_line.rstrip("\n")
        if line.startswith("["):
            in_header = False
            finish(current, start_line)
            current = {} if line.strip() == "[Term]" else None
            value_lines = {}
            start_line = line_no
            continue
        if not line or line.startswith("!"):
            continue
        tag, sep, value = line.partition(":")
        if not sep:
            raise HpoFormatError(f"{source}:{line_no}: expected 'tag: value', got {line!r}")
        value = value.strip()
        if in_header:
            if tag == "data-version":
                data_version = value
            continue
        if current is not None:
            if tag in {"is_a", "alt_id", "replaced_by", "consider"}:
                # Trailing "! label" comments are for humans only.
                value = value.split("!")[0].strip()
            current.setdefault(tag, []).append(value)
            value_lines.setdefault(tag, []).append(line_no)
    finish(current, start_line)
    if not data_version:
        raise HpoFormatError(f"{source}: no data-version in the header")
    for term in terms.values():
        for parent in term.parents:
            if parent not in terms:
                raise HpoFormatError(f"{source}: {term.id} has unknown parent {parent}")
    return terms, data_version


def read_text_lines(path: Path) -> Iterator[str]:
    """Lines of a plain or gzipped text file."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        yield from handle


def load_ontology(obo_path: Path) -> Ontology:
    """Parses an OBO file on its own, without any cache (the term details' reader; see the module docstring)."""
    terms, data_version = parse_obo(read_text_lines(obo_path), source=str(obo_path))
    return Ontology(terms=terms, data_version=data_version)


# -- cache ---------------------------------------------------------------------------------------------------


_CHECKSUMS: dict[tuple[str, int, int], str] = {}


def file_checksum(path: Path) -> str:
    """SHA-256 of a file's bytes (memoised per path, size and modification time within the process)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    found = _CHECKSUMS.get(key)
    if found is None:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        found = _CHECKSUMS[key] = digest.hexdigest()
    return found


def source_fingerprint(paths: Iterable[Path], kind: str, version: int = 0) -> str:
    """A short key for a cache built from these files: their names and SHA-256 checksums, and the cache format."""
    digest = hashlib.sha256(f"{kind}:{CACHE_FORMAT}:{version}".encode())
    for path in paths:
        digest.update(f"|{Path(path).name}:{file_checksum(Path(path))}".encode())
    return digest.hexdigest()[:16]


def cached(cache_dir: Path | None, kind: str, sources: list[Path], build: Callable[[], T], version: int = 0) -> T:
    """Loads a pickled object built from sources, or builds it and writes the cache atomically."""
    # version is the shape of the cached object: bumped when its class changes, so old caches are not read.
    if cache_dir is None:
        return build()
    path = cache_dir / f"{kind}-{source_fingerprint(sources, kind, version)}.pickle"
    if path.exists():
        # The collector would walk the growing heap again and again while millions of objects load.
        collecting = gc.isenabled()
        gc.disable()
        try:
            with path.open("rb") as handle:
                value = pickle.load(handle)
            # The index lives as long as the process: frozen, the collector no longer walks its millions of
            # objects at every full collection (docs/bench/rare.md: about a fifth of a fresh case's CPU time).
            gc.freeze()
            return value
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
            pass  # a stale or truncated cache is rebuilt below
        finally:
            if collecting:
                gc.enable()
    value = build()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        # Write then rename so parallel processes never read a half-written file.
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        for stale in cache_dir.glob(f"{kind}-*.pickle"):
            if stale != path:
                stale.unlink(missing_ok=True)  # built from older sources or an older format
    except OSError:
        pass  # a read-only data directory only costs the cold start each time
    return value


def hpo_cache_dir() -> Path | None:
    """Where parsed HPO files are cached: GMC data_dir/cache."""
    from gmc.settings import get_settings

    return Path(get_settings().data_dir) / "cache"


def hpo_release_setting() -> str:
    """GMC_HPO_RELEASE: "package" (hpo3's own release) or a release date with files in GMC_REFDATA/hpo."""
    from gmc.settings import ConfigurationError, get_settings

    release = get_settings().hpo_release.strip()
    if release != PACKAGE_RELEASE and not _RELEASE.match(release):
        raise ConfigurationError(
            f"GMC_HPO_RELEASE {release!r} is neither {PACKAGE_RELEASE!r} nor a release date such as 2025-01-16"
        )
    return release


def hpo_source_paths() -> dict[str, Path]:
    """Paths of a dated HPO release's files in GMC_REFDATA (a clear error naming GMC_REFDATA if missing)."""
    from gmc.settings import ConfigurationError, get_settings

    settings = get_settings()
    release = hpo_release_setting()
    if release == PACKAGE_RELEASE:
        raise ConfigurationError("GMC_HPO_RELEASE=package reads hpo3's own files, not files in GMC_REFDATA")
    paths = {}
    for key, pattern in HPO_RELEASE_FILES.items():
        name = pattern.format(release=release)
        found = [p for p in (settings.refdata_dir() / "hpo" / f"{name}.gz", settings.refdata_dir() / "hpo" / name)
                 if p.exists()]
        if not found:
            raise ConfigurationError(f"HPO release {release} (GMC_HPO_RELEASE) needs hpo/{name}.gz or hpo/{name} "
                                     f"in GMC_REFDATA ({settings.refdata})")
        paths[key] = found[0]
    return paths


def details_obo_path() -> Path | None:
    """The OBO the term details (synonyms, definitions, alternative ids) come from, or None when refdata has none."""
    from gmc.settings import get_settings

    if hpo_release_setting() != PACKAGE_RELEASE:
        return hpo_source_paths()["obo"]
    newest = sorted((get_settings().refdata_dir() / "hpo").glob("hp_*.obo*"))
    return newest[-1] if newest else None


def hpo_cache_sources() -> list[Path]:
    """The files whose change must rebuild the cached HPO data: hpo3's library (its release) and the release files."""
    import pyhpo.pyhpo

    sources = [Path(pyhpo.pyhpo.__file__)]
    if hpo_release_setting() != PACKAGE_RELEASE:
        sources += list(hpo_source_paths().values())
    details = details_obo_path()
    return sources + ([details] if details is not None else [])


_HPO3_RELEASE: list[str] = []


def load_hpo3() -> object:
    """The hpo3 ontology of the configured release (built once per process: hpo3 holds one ontology)."""
    from pyhpo import Ontology as Hpo3

    release = hpo_release_setting()
    if _HPO3_RELEASE:
        if _HPO3_RELEASE[0] != release:
            raise RuntimeError(f"hpo3 already holds release {_HPO3_RELEASE[0]}; one release per process")
        return Hpo3
    if release == PACKAGE_RELEASE:
        Hpo3()
    else:
        Hpo3(str(_release_folder(release)), from_obo_file=True)
    _HPO3_RELEASE.append(release)
    return Hpo3


def _release_folder(release: str) -> Path:
    """A folder with the release's files under the names hpo3 reads (decompressed once into the cache)."""
    paths = hpo_source_paths()
    folder = hpo_cache_dir() / f"hpo3-{release}"
    names = {"obo": "hp.obo", "hpoa": "phenotype.hpoa", "genes_to_phenotype": "genes_to_phenotype.txt"}
    folder.mkdir(parents=True, exist_ok=True)
    for key, name in names.items():
        target = folder / name
        source = paths[key]
        if target.exists() and target.stat().st_mtime_ns >= source.stat().st_mtime_ns:
            continue
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        with temporary.open("w", encoding="utf-8") as out:
            out.writelines(read_text_lines(source))
        os.replace(temporary, target)
    return folder


def hpo_id(number: int) -> str:
    """hpo3's integer term id as HP:NNNNNNN."""
    return f"HP:{int(number):07d}"


def ontology_from_hpo3(hpo: object, details: dict[str, Term] | None = None) -> Ontology:
    """Our plain-data Ontology from hpo3's terms, with synonyms, definitions and alternative ids from details."""
    details = details or {}
    terms: dict[str, Term] = {}
    for node in hpo:  # type: ignore[attr-defined]
        term_id = node.id
        extra = details.get(term_id)
        replaced = node.replaced_by
        terms[term_id] = Term(
            id=term_id,
            name=node.name,
            definition=extra.definition if extra else "",
            synonyms=extra.synonyms if extra else (),
            parents=tuple(hpo_id(p) for p in node.parent_ids()),
            is_obsolete=bool(node.is_obsolete),
            replaced_by=replaced.id if replaced is not None and hasattr(replaced, "id") else replaced,
            alt_ids=extra.alt_ids if extra else (),
            consider=extra.consider if extra else (),
        )
    known = set(terms)
    for term in list(terms.values()):
        # An alternative id that is itself a term of this release would make two terms of one id.
        if term.alt_ids and any(a in known for a in term.alt_ids):
            terms[term.id] = Term(**{**_fields(term), "alt_ids": tuple(a for a in term.alt_ids if a not in known)})
    version = hpo.version()  # type: ignore[attr-defined]
    ontology = Ontology(terms=terms, data_version=f"hp/releases/{version}")
    usage: dict[str, int] = {}
    for disease in (*hpo.omim_diseases, *hpo.orpha_diseases):  # type: ignore[attr-defined]
        for number in disease.hpo:
            key = hpo_id(number)
            usage[key] = usage.get(key, 0) + 1
    ontology.usage = usage
    return ontology


def _fields(term: Term) -> dict[str, object]:
    return {name: getattr(term, name) for name in Term.__slots__}


@lru_cache(maxsize=1)
def get_ontology() -> Ontology:
    """The process-wide ontology of the configured release (hpo3 + term details), cached on disk."""

    def build() -> Ontology:
        details_path = details_obo_path()
        details = parse_obo(read_text_lines(details_path), source=str(details_path))[0] if details_path else {}
        ontology = ontology_from_hpo3(load_hpo3(), details)
        ontology._search_index()  # built once here so the cache carries it
        return ontology

    return cached(hpo_cache_dir(), "hpo-ontology", hpo_cache_sources(), build)
