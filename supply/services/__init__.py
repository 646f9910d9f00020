"""Business operations over a Session; each flushes and leaves the commit to its caller."""
