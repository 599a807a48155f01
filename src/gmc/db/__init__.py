"""db feature of gmc."""
