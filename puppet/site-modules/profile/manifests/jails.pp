# @summary Jails for app releases and NGINX in front of them, from Hiera.
#
# Rendered by jailgen; the data comes from `jails::*` keys in Hiera.
class profile::jails {
  include jails
}
