"""samples feature of gmc."""
