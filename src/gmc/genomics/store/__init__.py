"""genomics store feature of gmc."""
