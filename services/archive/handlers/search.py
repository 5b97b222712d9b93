"""Requests for public records (L4): search and export, masked, logged."""
