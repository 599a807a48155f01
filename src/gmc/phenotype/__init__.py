"""phenotype feature of gmc."""
