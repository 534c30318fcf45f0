# @summary One app as jailgen writes it under `{{ module }}::apps`.
#
# `test` and `live` name the jails whose releases the test domain and the live
# domains serve; `previous` lists retained former live jails, newest first, and
# `rolled_back` those of them that live was rolled back from. `build` lists the
# argument vectors run once per release in its checkout (see `jail_build`).
# `test_access` restricts the test domain to client networks and/or an htpasswd
# file; with `maintenance` the live domains answer 503 with its message; with
# `tls` the domains are served over HTTPS with that certificate and key.
type {{ module|capitalize }}::App = Struct[{
  domains               => Array[{{ module|capitalize }}::Domain],
  Optional[test_domain] => {{ module|capitalize }}::Domain,
  source                => Pattern[/\A[A-Za-z0-9\/.~_@:+][[:graph:]]*\z/],
  command               => Array[Pattern[/\A[^\x00-\x1f]+\z/], 1],
  port                  => Integer[1, 65535],
  Optional[environment] => Hash[
    Pattern[/\A[A-Za-z_][A-Za-z0-9_]*\z/],
    Variant[Pattern[/\A[^\x00-\x1f]*\z/], Integer, Float, Boolean]
  ],
  Optional[health]      => Pattern[/\A\/[[:graph:]]*\z/],
  Optional[packages]    => Array[Pattern[/\A[A-Za-z0-9][A-Za-z0-9_.+@\/-]*\z/]],
  Optional[jail_params] => {{ module|capitalize }}::Jailparams,
  Optional[build]       => Array[Array[Pattern[/\A[^\x00-\x1f]+\z/], 1]],
  Optional[test]        => Optional[{{ module|capitalize }}::Jailname],
  Optional[live]        => Optional[{{ module|capitalize }}::Jailname],
  Optional[previous]    => Optional[Array[{{ module|capitalize }}::Jailname]],
  Optional[rolled_back] => Array[{{ module|capitalize }}::Jailname],
  Optional[test_access] => Struct[{
    networks           => Array[{{ module|capitalize }}::Ipv4network],
    Optional[htpasswd] => {{ module|capitalize }}::Path,
  }],
  Optional[tls]         => Variant[
    Struct[{ cert => {{ module|capitalize }}::Path, key => {{ module|capitalize }}::Path }],
    Struct[{ acme => Boolean }],
  ],
  Optional[maintenance] => Struct[{
    message     => Pattern[/\A[^\x00-\x1f\x7f]{1,300}\z/],
    retry_after => Integer[1, 86400],
  }],
}]
