"""Research sharing: the research-eligibility rule, pseudonyms, cohorts, releases and the GA4GH Beacon."""
