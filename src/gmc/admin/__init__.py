"""Administration pages: users, the audit trail, centres and trusts."""
