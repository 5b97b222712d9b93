"""The `kanalvakt` command: run the system locally, run one service, mint a local token."""
