"""audit feature of gmc."""
