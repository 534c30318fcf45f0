"""Running Puppet and reading what it did."""
