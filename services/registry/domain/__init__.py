"""The registry's rules: plans (plan, naming), accounts (account), absences (absence)
and what keeps a running account compliant (compliance). No NATS, no MongoDB."""
