"""Rendering: catalog + state -> the text of every file jailgen owns in a control repo.
Pure: it reads nothing from disk except what the caller hands in."""
