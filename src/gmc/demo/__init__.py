"""demo feature of gmc."""
