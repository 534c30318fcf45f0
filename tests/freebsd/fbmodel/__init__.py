"""A stateful model of the FreeBSD host tools the generated module runs."""
