"""genomics feature of gmc."""
