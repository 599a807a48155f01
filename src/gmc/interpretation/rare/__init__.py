"""interpretation rare feature of gmc."""
