# @summary A host that runs app releases in jails behind NGINX.
class role::jailhost {
  include profile::jails
}
