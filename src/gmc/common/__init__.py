"""common feature of gmc."""
