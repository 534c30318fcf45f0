"""One module per command; the click layer in generator.cli only parses and prints."""
