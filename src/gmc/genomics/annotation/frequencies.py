"""Population allele frequencies: from INFO fields, from a user's sites file (VCF/Parquet), or a cohort."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from gmc.genomics.vcf import normalise_chrom, open_vcf, trim_alleles

#: INFO keys read as the population frequency when the user names none.
DEFAULT_AF_KEYS = (
    "gnomAD_AF",
    "gnomad_AF",
    "gnomADe_AF",
    "gnomADg_AF",
    "gnomAD_exomes_AF",
    "gnomAD_genomes_AF",
)


class FrequencyFileError(ValueError):
    """A frequency sites file cannot be read or lacks the frequency column."""


def frequency_from_info(value: object) -> float | None:
    """Returns a float frequency from a raw INFO value (first element of a tuple, None if missing)."""
    if isinstance(value, tuple):
        value = value[0] if value else None
    if value is None or value == ".":
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(result) else result


class SitesFrequencies:
    """Allele frequencies of a sites file keyed by trimmed (chrom, pos, ref, alt)."""

    def __init__(self, path: str | Path, *, af_key: str = "AF", build: str | None = None) -> None:
        self.path = Path(path)
        self.af_key = af_key
        self.frequencies: dict[tuple[str, int, str, str], float] = {}
        if self.path.suffix == ".parquet":
            self._read_parquet()
        else:
            self._read_vcf(build)

    def _read_vcf(self, build: str | None) -> None:
        reader = open_vcf(self.path, samples=[], info_keys=(self.af_key,), build=build)
        self.build = reader.build
        for batch in reader.batches():
            values = batch.info[self.af_key]
            for chrom, pos, ref, alt, value in zip(
                batch.chrom, batch.pos, batch.ref, batch.alt, values, strict=True
            ):
                af = frequency_from_info(value)
                if af is not None:
                    self.frequencies[(chrom, int(pos), ref, alt)] = af
        if not self.frequencies:
            raise FrequencyFileError(f"{self.path.name}: no INFO/{self.af_key} values")

    def _read_parquet(self) -> None:
        table = pq.read_table(self.path)
        needed = {"chrom", "pos", "ref", "alt", self.af_key}
        missing = needed - set(table.column_names)
        if missing:
            raise FrequencyFileError(f"{self.path.name}: missing column(s) {sorted(missing)}")
        self.build = None
        columns = [table[c].to_pylist() for c in ("chrom", "pos", "ref", "alt", self.af_key)]
        for chrom, pos, ref, alt, af in zip(*columns, strict=True):
            if af is None:
                continue
            p, r, a = trim_alleles(int(pos), ref, alt)
            self.frequencies[(normalise_chrom(str(chrom)), p, r, a)] = float(af)

    def __len__(self) -> int:
        return len(self.frequencies)

    def lookup(self, chrom: str, pos: int, ref: str, alt: str) -> float | None:
        """Returns the frequency of a trimmed allele, or None."""
        return self.frequencies.get((chrom, pos, ref, alt))


def cohort_frequencies(table: pa.Table) -> dict[tuple[str, int, str, str], float]:
    """Keys the centre's own allele frequencies (chrom, pos, ref, alt, af columns, as the store gives them)."""
    missing = {"chrom", "pos", "ref", "alt", "af"} - set(table.column_names)
    if missing:
        raise FrequencyFileError(f"cohort frequency table lacks column(s) {sorted(missing)}")
    columns = [table[name].to_pylist() for name in ("chrom", "pos", "ref", "alt", "af")]
    return {
        (normalise_chrom(str(c)), int(p), r, a): float(af)
        for c, p, r, a, af in zip(*columns, strict=True)
        if af is not None
    }


def first_frequency(
    key: tuple[str, int, str, str],
    info: dict[str, object],
    af_keys: Iterable[str],
    sites: Iterable[SitesFrequencies],
) -> tuple[float | None, str]:
    """Returns (frequency, source): the first INFO key that has one, else the first sites file that does."""
    for af_key in af_keys:
        af = frequency_from_info(info.get(af_key))
        if af is not None:
            return af, f"INFO/{af_key}"
    for source in sites:
        af = source.lookup(*key)
        if af is not None:
            return af, source.path.name
    return None, ""
