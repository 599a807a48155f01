"""interpretation feature of gmc."""
