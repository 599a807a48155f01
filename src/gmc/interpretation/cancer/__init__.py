"""interpretation cancer feature of gmc."""
