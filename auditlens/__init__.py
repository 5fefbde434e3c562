"""auditlens: audit logs as evidence tables (who did what, when, from where, and whether it worked)."""
