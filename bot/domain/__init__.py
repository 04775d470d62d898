"""Pure release-management rules: no Slack, database or web imports (tests/domain/test_purity.py checks)."""
