"""What all four Kanalvakt services share: contracts, settings and plumbing."""
