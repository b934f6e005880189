"""Other tools' files: the original Ais's models and training sets, particle tables (STAR, tbl, copick)."""
