"""Sample tracking and biobank: specimens, derivatives, QC, storage, shipments, custody and turnaround."""
