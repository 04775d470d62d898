"""Releases: propose, list, show, history, cancel (`releases`), edit (`editing`), and a release's commit
(`commits`)."""
