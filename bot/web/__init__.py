"""The web pages: the landing page and the release board, with Sign in with Slack."""
