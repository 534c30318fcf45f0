# @summary Extra jail(8) parameters: dotted lower-case names; boolean, integer or plain string values.
#
# Strings may not contain quotes, backslashes, `$`, `;`, braces, `#`, spaces or
# control characters, so nothing can escape its place in jail.conf(5). The
# jail type checks names and kinds against FreeBSD 14's jail(8) parameters.
type Jails::Jailparams = Hash[
  Pattern[/\A[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*\z/],
  Variant[Boolean, Integer, Pattern[/\A[A-Za-z0-9_.,:\/=+@%-]*\z/]]
]
