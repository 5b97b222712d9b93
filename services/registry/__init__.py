"""Registry: the register of official accounts, their plans, approvals and administrators."""
