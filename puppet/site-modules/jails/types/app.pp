# @summary One app as jailgen writes it under `jails::apps`.
#
# `test` and `live` name the jails whose releases the test domain and the live
# domains serve; `previous` lists retained former live jails, newest first, and
# `rolled_back` those of them that live was rolled back from. `build` lists the
# argument vectors run once per release in its checkout (see `jail_build`).
# `test_access` restricts the test domain to client networks and/or an htpasswd
# file; with `maintenance` the live domains answer 503 with its message; with
# `tls` the domains are served over HTTPS with that certificate and key.
type Jails::App = Struct[{
  domains               => Array[Jails::Domain],
  Optional[test_domain] => Jails::Domain,
  source                => Pattern[/\A[A-Za-z0-9\/.~_@:+][[:graph:]]*\z/],
  command               => Array[Pattern[/\A[^\x00-\x1f]+\z/], 1],
  port                  => Integer[1, 65535],
  Optional[environment] => Hash[
    Pattern[/\A[A-Za-z_][A-Za-z0-9_]*\z/],
    Variant[Pattern[/\A[^\x00-\x1f]*\z/], Integer, Float, Boolean]
  ],
  Optional[health]      => Pattern[/\A\/[[:graph:]]*\z/],
  Optional[packages]    => Array[Pattern[/\A[A-Za-z0-9][A-Za-z0-9_.+@\/-]*\z/]],
  Optional[jail_params] => Jails::Jailparams,
  Optional[build]       => Array[Array[Pattern[/\A[^\x00-\x1f]+\z/], 1]],
  Optional[test]        => Optional[Jails::Jailname],
  Optional[live]        => Optional[Jails::Jailname],
  Optional[previous]    => Optional[Array[Jails::Jailname]],
  Optional[rolled_back] => Array[Jails::Jailname],
  Optional[test_access] => Struct[{
    networks           => Array[Jails::Ipv4network],
    Optional[htpasswd] => Jails::Path,
  }],
  Optional[tls]         => Variant[
    Struct[{ cert => Jails::Path, key => Jails::Path }],
    Struct[{ acme => Boolean }],
  ],
  Optional[maintenance] => Struct[{
    message     => Pattern[/\A[^\x00-\x1f\x7f]{1,300}\z/],
    retry_after => Integer[1, 86400],
  }],
}]
