"""genomics annotation feature of gmc."""
