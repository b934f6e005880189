"""Qt glue between views and models: threads, progress, cancel, settings."""
