# @summary Jails for releases of web apps, with NGINX in front, as described by jailgen's Hiera data.
#
# Every entry of `jails` is one release of one app in its own jail, cloned from
# the template. NGINX serves each app's live domains from the jail in its `live`
# slot and its test domain from the jail in its `test` slot.
#
# All parameters are looked up in Hiera as `jails::<parameter>`; jailgen
# writes them (see the module README for the keys).
#
# Order of events for a new jail: template, then the jail (cloned, configured,
# started), then its release (source, packages, rc script), which restarts the
# jail when it changes, then NGINX. A jail being removed is first taken out of
# NGINX, then destroyed.
#
# @param platform
#   `freebsd` (ZFS and jail(8)) or `linux` (for development and CI).
# @param jails_dir
#   Root of the jail trees: on FreeBSD the mountpoint of `zfs_root`, holding
#   `media/`, `templates/` and `containers/<jail>`.
# @param interface
#   Interface the jail addresses live on: `lo1` on FreeBSD, `lo` on Linux.
# @param network
#   The jail address pool in CIDR form; its prefix length is used for the host address.
# @param host_address
#   The host's own address on `interface`, never given to a jail.
# @param zfs_root
#   Parent dataset of `media`, `templates` and `containers` (FreeBSD).
# @param freebsd_release
#   FreeBSD release of the template, such as `14.1-RELEASE` (FreeBSD).
# @param nginx_listen
#   Address NGINX listens on.
# @param nginx_port
#   Port NGINX listens on.
# @param nginx_https_port
#   Port NGINX serves HTTPS on, for apps with `tls`.
# @param nginx_hsts
#   Whether HTTPS answers carry `Strict-Transport-Security`.
# @param acme
#   The ACME server for apps with `tls: {acme: true}`: `directory`, `email`,
#   optionally `webroot` and `ca_bundle`.
# @param apps
#   Apps by name: domains, source, command, port, packages, jail parameters and
#   the `test`, `live` and `previous` slots.
# @param jails
#   Jails by name: `ensure` (running, stopped or absent), `app`, `revision` and `address`.
# @param nginx_prefix
#   On Linux, the prefix of a private NGINX instance (configuration in
#   `<prefix>/nginx.conf`); unset, the system NGINX is managed. On FreeBSD only
#   `/usr/local/etc/nginx` is accepted.
# @param services
#   Per app, the stable service address of its `live` and `test` slots, which
#   NGINX proxies to and the kernel NAT table maps to the slot's jail.
# @param nat_table
#   Name of the NAT table (nftables) or pf anchor that holds those mappings.
class jails (
  Jails::Platform $platform,
  Jails::Path $jails_dir,
  Jails::Interface $interface,
  Jails::Ipv4network $network,
  Jails::Ipv4 $host_address,
  Jails::Dataset $zfs_root,
  Jails::Freebsdrelease $freebsd_release,
  Jails::Ipv4 $nginx_listen,
  Integer[1, 65535] $nginx_port,
  Integer[1, 65535] $nginx_https_port = 443,
  Boolean $nginx_hsts = false,
  Optional[Struct[{
    directory           => Pattern[/\Ahttps:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._~\/-]*)?\z/],
    email               => Pattern[/\A[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\z/],
    Optional[webroot]   => Jails::Path,
    Optional[ca_bundle] => Jails::Path,
  }]] $acme = undef,
  Hash[Jails::Appname, Jails::App] $apps = {},
  Hash[Jails::Jailname, Jails::Jail] $jails = {},
  Optional[Jails::Path] $nginx_prefix = undef,
  Hash[Jails::Appname, Hash[Enum['live', 'test'], Jails::Ipv4]] $services = {},
  Pattern[/\A[a-z][a-z0-9_]{0,31}\z/] $nat_table = 'jails',
) {
  $template = $platform ? {
    'freebsd' => "${zfs_root}/templates/${freebsd_release}@base",
    default   => "${jails_dir}/templates/base",
  }

  class { 'jails::template':
    platform        => $platform,
    jails_dir       => $jails_dir,
    interface       => $interface,
    network         => $network,
    host_address    => $host_address,
    zfs_root        => $zfs_root,
    freebsd_release => $freebsd_release,
  }
  contain jails::template

  class { 'jails::nginx':
    platform   => $platform,
    listen     => $nginx_listen,
    port       => $nginx_port,
    https_port => $nginx_https_port,
    hsts       => $nginx_hsts,
    acme       => $acme,
    prefix     => $nginx_prefix,
    apps       => $apps,
    jails      => $jails,
    services   => $services,
    nat_table  => $nat_table,
  }
  contain jails::nginx

  if $platform == 'freebsd' {
    # Releases are cloned on the host, which has the network access the jails lack.
    package { 'git':
      ensure => installed,
    }
    $release_tools = [Package['git']]
  } else {
    $release_tools = []
  }

  $jails.keys.sort.each |Jails::Jailname $name| {
    $jail = $jails[$name]
    $app = $apps[$jail['app']]
    if $app =~ Undef and $jail['ensure'] != 'absent' {
      fail("${module_name}: jail ${name} belongs to app ${jail['app']}, which is not in ${module_name}::apps")
    }

    $dataset = $platform ? {
      'freebsd' => "${zfs_root}/containers/${name}",
      default   => undef,
    }

    jail { $name:
      ensure     => $jail['ensure'],
      address    => $jail['address'],
      interface  => $interface,
      template   => $template,
      dataset    => $dataset,
      path       => "${jails_dir}/containers/${name}",
      hostname   => $name,
      parameters => $app.then |Hash $found| { $found['jail_params'] }.lest || { {} },
      require    => Class['jails::template'],
    }

    if $jail['ensure'] == 'absent' {
      # Stop routing to a jail before it goes away.
      Class['jails::nginx'] -> Jail[$name]
    } else {
      jails::release { $name:
        platform    => $platform,
        app         => $jail['app'],
        revision    => $jail['revision'],
        source      => $app['source'],
        path        => "${jails_dir}/containers/${name}",
        address     => $jail['address'],
        port        => $app['port'],
        command     => $app['command'],
        environment => $app['environment'].lest || { {} },
        packages    => $app['packages'].lest || { [] },
        build       => $app['build'].lest || { [] },
        require     => [Jail[$name]] + $release_tools,
        before      => Class['jails::nginx'],
      }
    }
  }
}
