"""One router per area of the server."""
