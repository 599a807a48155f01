"""The centres and trusts gmc ships as reference organisations (the demo and new installs use them)."""

from __future__ import annotations

#: (centre code, name, region, genome target, [(ODS code, trust name), ...])
CENTRES: list[tuple[str, str, str, int, list[tuple[str, str]]]] = [
    (
        "WMGMC",
        "West Midlands Genomic Medicine Centre",
        "West Midlands",
        18_000,
        [
            ("RRK", "University Hospitals Birmingham NHS Foundation Trust"),
            ("RQ3", "Birmingham Children's Hospital NHS Foundation Trust"),
            ("RLU", "Birmingham Women's Hospital NHS Foundation Trust"),
            ("RR1", "Heart of England NHS Foundation Trust"),
            ("RXK", "Sandwell and West Birmingham Hospitals NHS Trust"),
            ("RKB", "University Hospitals Coventry & Warwickshire NHS Trust"),
            ("RJE", "University Hospitals of North Midlands NHS Trust"),
            ("RL4", "The Royal Wolverhampton NHS Trust"),
            ("RLT", "George Eliot Hospital NHS Trust"),
            ("RJC", "South Warwickshire NHS Foundation Trust"),
            ("RWP", "Worcestershire Acute Hospitals NHS Trust"),
            ("RLQ", "Wye Valley NHS Trust"),
            ("RNA", "Dudley Group NHS Foundation Trust"),
            ("RRJ", "Royal Orthopaedic Hospital NHS Foundation Trust"),
            ("RXW", "Royal Shrewsbury Hospitals NHS Trust"),
            ("RL1", "Robert Jones and Agnes Hunt Orthopaedic Hospital NHS Foundation Trust"),
            ("RJF", "Burton Hospitals NHS Foundation Trust"),
            ("RBK", "Walsall Healthcare NHS Trust"),
        ],
    ),
    (
        "SLGMC",
        "South London Genomic Medicine Centre",
        "South London",
        7_000,
        [
            ("RJ1", "Guy's and St Thomas' NHS Foundation Trust"),
            ("RJZ", "King's College Hospital NHS Foundation Trust"),
            ("RV5", "South London and Maudsley NHS Foundation Trust"),
            ("RJ7", "St George's University Hospitals NHS Foundation Trust"),
        ],
    ),
]
