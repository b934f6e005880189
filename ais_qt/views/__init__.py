"""Widgets only; no algorithms here."""
