"""What operators see of a running Confide: request ids, JSON logs, Prometheus metrics and the
security headers every response carries. Nothing here ever records a personal value: requests
are named by their route (`workspace:item`), never by their path, which can hold tokens."""
