"""Split by area; see the modules in this package."""
