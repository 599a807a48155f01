"""organisations feature of gmc."""
