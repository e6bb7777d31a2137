"""Rendering: findings, certificate facts, plans and drift as text, JSON and Markdown strings.

Nothing here prints; the CLI does.
"""
