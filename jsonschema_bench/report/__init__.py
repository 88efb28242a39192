"""Leaderboard from saved result files: aggregation with bootstrap CIs, tables, charts."""
