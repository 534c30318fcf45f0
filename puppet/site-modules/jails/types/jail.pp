# @summary One jail as jailgen writes it under `jails::jails`: a release of an app and its address.
type Jails::Jail = Struct[{
  ensure   => Enum['running', 'stopped', 'absent'],
  app      => Jails::Appname,
  revision => Jails::Revision,
  address  => Jails::Ipv4,
}]
