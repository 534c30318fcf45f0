# @summary The kernel NAT table that maps each slot's service address to its jail.
#
# NGINX proxies every app slot to a stable service address. This class keeps
# one table that rewrites connections to a service address to the running jail
# in that slot. The whole table is replaced in one transaction: `nft -f` of a
# file that deletes and recreates the table on Linux, `pfctl -a <anchor> -f` on
# FreeBSD. Connections already open keep their translation (conntrack entries
# on Linux, pf states on FreeBSD), so requests in flight finish on the old jail
# while new connections reach the new one. A slot without a running jail has
# no rule: the connection is refused and NGINX answers 503.
#
# On FreeBSD pf must be enabled and pf.conf must hook the anchor in
# (`rdr-anchor "<table>"`): this class loads only the anchor's rules, and an
# anchor the main ruleset does not hook is never evaluated. The catalog fails
# to compile (nothing is applied) while the `jailgen_pf` fact says otherwise.
#
# @param platform
#   `freebsd` or `linux`.
# @param table
#   Name of the nftables table or pf anchor.
# @param config
#   File the rules are written to before they are loaded.
# @param routes
#   The NGINX routes: `service` (address:port) and `backend` (address:port of
#   the running jail, or undef).
# @param interface
#   The jails' interface, which NGINX's connections to the service addresses
#   pass (FreeBSD: pf.conf must not `set skip` on it or on its group).
class jails::nat (
  Jails::Platform $platform,
  String $table,
  Jails::Path $config,
  Array[Hash] $routes,
  Jails::Interface $interface = $jails::interface,
) {
  $rules = $routes.filter |Hash $route| { $route['service'] =~ String and $route['backend'] =~ String }.map |Hash $route| {
    $service = $route['service'].split(':')
    $backend = $route['backend'].split(':')
    $rule = {
      'service_address' => $service[0],
      'service_port'    => $service[1],
      'jail_address'    => $backend[0],
      'jail_port'       => $backend[1],
    }
    $rule
  }.unique

  if $platform == 'freebsd' {
    $pf = $facts['jailgen_pf']
    $hook = "rdr-anchor \"${table}\""
    unless $pf =~ Hash and $pf['enabled'] {
      fail("pf is not enabled: the ${table} anchor routes the slots (sysrc pf_enable=YES; service pf start)")
    }
    unless $table in $pf['rdr_anchors'] {
      fail("pf.conf does not hook the ${table} anchor: add the line '${hook}' to /etc/pf.conf, then service pf reload")
    }
    $iface_group = $interface.regsubst(/[0-9]+\z/, '')
    $skipped = [$interface, $iface_group].filter |String $name| { $name in $pf['skipped'].lest || { [] } }
    unless $skipped.empty {
      fail("pf.conf skips ${skipped[0]}, so pf translates nothing on ${interface}: set skip on lo0 only, then service pf reload")
    }
    $content = epp("${module_name}/nat.pf.epp", { 'rules' => $rules })
    $validate_cmd = "/sbin/pfctl -n -a ${table} -f %"
    $load = ['/sbin/pfctl', '-a', $table, '-f', $config]
    $loaded = ['/bin/sh', '-c', '/sbin/pfctl -a "$1" -s nat | /usr/bin/grep -q .', 'pfctl', $table]
    $group = 'wheel'
  } else {
    $content = epp("${module_name}/nat.nft.epp", { 'table' => $table, 'rules' => $rules })
    $validate_cmd = '/usr/sbin/nft -c -f %'
    $load = ['/usr/sbin/nft', '-f', $config]
    $loaded = ['/usr/sbin/nft', 'list', 'table', 'ip', $table]
    $group = 'root'
  }

  file { $config:
    ensure       => file,
    owner        => 'root',
    group        => $group,
    mode         => '0644',
    content      => $content,
    validate_cmd => $validate_cmd,
  }

  exec { "${module_name}: load nat table":
    command     => $load,
    refreshonly => true,
    subscribe   => File[$config],
  }

  # After a reboot (or a flush) the table is loaded again from the file.
  exec { "${module_name}: restore nat table":
    command => $load,
    unless  => [$loaded],
    require => Exec["${module_name}: load nat table"],
  }
}
