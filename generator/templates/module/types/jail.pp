# @summary One jail as jailgen writes it under `{{ module }}::jails`: a release of an app and its address.
type {{ module|capitalize }}::Jail = Struct[{
  ensure   => Enum['running', 'stopped', 'absent'],
  app      => {{ module|capitalize }}::Appname,
  revision => {{ module|capitalize }}::Revision,
  address  => {{ module|capitalize }}::Ipv4,
}]
