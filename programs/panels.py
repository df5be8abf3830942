"""Course panels on homework's pages (registered with homework.panels when ready)."""
