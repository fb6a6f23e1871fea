"""One Lambda entry point per trigger (placeholder until the split lands)."""
