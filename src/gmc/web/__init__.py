"""web feature of gmc."""
