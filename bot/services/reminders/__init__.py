"""Reminders and review prompts: planning jobs from release events, and running them when they fall due."""
