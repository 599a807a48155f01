"""registry feature of gmc."""
