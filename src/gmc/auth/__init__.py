"""auth feature of gmc."""
