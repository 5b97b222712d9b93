"""The archive's rules, pure: records and their facts (records), the hash chain (chain),
the diarium (diarium), culling and holds (culling), snapshots (snapshots) and requests
for public records (search)."""
