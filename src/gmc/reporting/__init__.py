"""Review and reporting: the case workflow after interpretation, reported findings, four-eyes sign-off, MDT,
clinical reports (HTML, PDF, FHIR) with versions, release to clinicians, reanalysis and turnaround."""
