# @summary Prepares the host for jails and builds the template every jail is cloned from.
#
# On FreeBSD: the jail interface with the host's address, jail(8) enabled with
# `/etc/jail.conf` including `/etc/jail.conf.d/*.conf`, the ZFS datasets, and a
# template dataset holding a patched FreeBSD base, snapshotted as `@base`.
# Each template step is an exec with an argument vector and a guard so it runs
# once; all of them are also guarded by the snapshot, so once `@base` exists
# nothing of the template runs again (a new release name builds a new template).
#
# On Linux: the directory layout only; the Linux template is built by the
# linux provider's own tooling.
#
# @param platform
#   `freebsd` or `linux`.
# @param jails_dir
#   Mountpoint of `zfs_root` (FreeBSD) or root of the jail trees (Linux).
# @param interface
#   The cloned loopback interface the jails' addresses are added to.
# @param network
#   The jail address pool (CIDR); its prefix length goes with `host_address`.
# @param host_address
#   The host's address on `interface`.
# @param zfs_root
#   Parent dataset of `media`, `templates` and `containers`.
# @param freebsd_release
#   The release the template is built from, such as `14.1-RELEASE`.
# @param mirror
#   Where `<arch>/<release>/base.txz` is fetched from.
class {{ module }}::template (
  {{ module|capitalize }}::Platform $platform,
  {{ module|capitalize }}::Path $jails_dir,
  {{ module|capitalize }}::Interface $interface,
  {{ module|capitalize }}::Ipv4network $network,
  {{ module|capitalize }}::Ipv4 $host_address,
  {{ module|capitalize }}::Dataset $zfs_root,
  {{ module|capitalize }}::Freebsdrelease $freebsd_release,
  Pattern[/\Ahttps?:\/\/[A-Za-z0-9.:-]+(?:\/[A-Za-z0-9._~-]+)*\z/] $mirror = 'https://download.freebsd.org/releases',
) {
  if $platform == 'freebsd' {
    # Commands are argument vectors; unless and onlyif take a list of commands,
    # so theirs are wrapped once more. Where a check needs a pipe, the shell
    # script is a constant and the values are its positional arguments.
    $zfs = '/sbin/zfs'
    $sysrc = '/usr/sbin/sysrc'
    $host_cidr = "${host_address}/${split($network, '/')[1]}"

    # The jail interface is set up the way the base system sets up any cloned
    # interface, with cloned_interfaces and ifconfig_<interface> in rc.conf: the
    # boot-time netif script creates it before rc.d/jail starts the jails, and
    # there is no rc.d script of our own to maintain. The ifconfig execs apply
    # the same settings now, without restarting the host's networking.
    $is_cloned = 'case " $(/usr/sbin/sysrc -n cloned_interfaces) " in *" $1 "*) exit 0 ;; esac; exit 1'
    exec { "${module_name}: add ${interface} to cloned_interfaces":
      command => [$sysrc, "cloned_interfaces+=${interface}"],
      unless  => [['/bin/sh', '-c', $is_cloned, 'sh', $interface]],
    }

    # jail_enable and jail_list are the jail provider's: they say which jails
    # start at boot, and only the provider knows which ones run.
    $rc_conf = {
      "ifconfig_${interface}" => "inet ${host_cidr}",
      'jail_parallel_start'   => 'YES',
    }
    $rc_conf.each |String $variable, String $value| {
      exec { "${module_name}: sysrc ${variable}":
        command => [$sysrc, "${variable}=${value}"],
        unless  => [[$sysrc, '-c', "${variable}=${value}"]],
      }
    }

    exec { "${module_name}: create ${interface}":
      command => ['/sbin/ifconfig', $interface, 'create'],
      unless  => [['/sbin/ifconfig', $interface]],
      require => Exec["${module_name}: add ${interface} to cloned_interfaces"],
    }
    -> exec { "${module_name}: add ${host_cidr} to ${interface}":
      command => ['/sbin/ifconfig', $interface, 'inet', $host_cidr, 'alias'],
      unless  => [['/bin/sh', '-c', '/sbin/ifconfig "$1" inet | /usr/bin/grep -qF " $2 "', 'sh', $interface,
        $host_address]],
    }

    file { '/etc/jail.conf.d':
      ensure => directory,
      owner  => 'root',
      group  => 'wheel',
      mode   => '0755',
    }

    file { '/etc/jail.conf':
      ensure  => file,
      owner   => 'root',
      group   => 'wheel',
      mode    => '0644',
      content => "# Managed by Puppet (jailgen).\n.include \"/etc/jail.conf.d/*.conf\";\n",
    }

    # Datasets: <zfs_root> mounted at <jails_dir>, with media/, templates/ and
    # containers/ inheriting their mountpoints below it.
    exec { "${module_name}: zfs create ${zfs_root}":
      command => [$zfs, 'create', '-p', '-o', "mountpoint=${jails_dir}", $zfs_root],
      unless  => [[$zfs, 'list', '-H', '-o', 'name', $zfs_root]],
    }
    ['media', 'templates', 'containers'].each |String $child| {
      exec { "${module_name}: zfs create ${zfs_root}/${child}":
        command => [$zfs, 'create', "${zfs_root}/${child}"],
        unless  => [[$zfs, 'list', '-H', '-o', 'name', "${zfs_root}/${child}"]],
        require => Exec["${module_name}: zfs create ${zfs_root}"],
        before  => Exec["${module_name}: zfs create ${zfs_root}/templates/${freebsd_release}"],
      }
    }

    $template_dataset = "${zfs_root}/templates/${freebsd_release}"
    $snapshot = "${template_dataset}@base"
    $template_dir = "${jails_dir}/templates/${freebsd_release}"
    $archive = "${jails_dir}/media/${freebsd_release}-base.txz"
    # Written after a complete extraction, outside the template so that it is not
    # cloned into every jail.
    $extracted = "${jails_dir}/media/${freebsd_release}-base.extracted"
    $snapshot_exists = [[$zfs, 'list', '-H', '-o', 'name', '-t', 'snapshot', $snapshot]]
    $arch = $facts['os']['hardware'] ? {
      'arm64' => 'arm64/aarch64',
      default => $facts['os']['hardware'],
    }
    $base_url = "${mirror}/${arch}/${freebsd_release}/base.txz"

    exec { "${module_name}: zfs create ${template_dataset}":
      command => [$zfs, 'create', $template_dataset],
      unless  => [[$zfs, 'list', '-H', '-o', 'name', $template_dataset]],
    }
    # Fetched to a temporary name and renamed, so an interrupted download is
    # never mistaken for a complete archive.
    -> exec { "${module_name}: fetch ${freebsd_release} base.txz":
      command => ['/usr/bin/fetch', '-q', '-o', "${archive}.part", $base_url],
      creates => $archive,
      unless  => $snapshot_exists,
      timeout => 3600,
    }
    -> exec { "${module_name}: keep ${freebsd_release} base.txz":
      command => ['/bin/mv', "${archive}.part", $archive],
      creates => $archive,
      unless  => $snapshot_exists,
    }
    -> exec { "${module_name}: extract ${freebsd_release} base.txz":
      command => ['/usr/bin/tar', '-x', '-f', $archive, '-C', $template_dir, '--unlink'],
      creates => $extracted,
      unless  => $snapshot_exists,
      timeout => 1800,
    }
    -> exec { "${module_name}: mark ${freebsd_release} base.txz extracted":
      command => ['/usr/bin/touch', $extracted],
      creates => $extracted,
      unless  => $snapshot_exists,
    }
    -> exec { "${module_name}: copy resolv.conf into ${freebsd_release} template":
      command => ['/bin/cp', '/etc/resolv.conf', "${template_dir}/etc/resolv.conf"],
      creates => "${template_dir}/etc/resolv.conf",
      onlyif  => [['/bin/test', '-e', '/etc/resolv.conf']],
      unless  => $snapshot_exists,
    }
    -> exec { "${module_name}: copy localtime into ${freebsd_release} template":
      command => ['/bin/cp', '/etc/localtime', "${template_dir}/etc/localtime"],
      creates => "${template_dir}/etc/localtime",
      onlyif  => [['/bin/test', '-e', '/etc/localtime']],
      unless  => $snapshot_exists,
    }
    # Patch the template to the release's latest patch level. The host may run
    # another release, hence --currently-running; fetch refuses to run without a
    # terminal unless told that it is not run from cron.
    -> exec { "${module_name}: freebsd-update ${freebsd_release} template":
      command     => ['/usr/sbin/freebsd-update', '-b', $template_dir, '--currently-running', $freebsd_release,
        '--not-running-from-cron', 'fetch', 'install'],
      environment => ['PAGER=/bin/cat'],
      unless      => $snapshot_exists,
      timeout     => 3600,
    }
    -> exec { "${module_name}: zfs snapshot ${snapshot}":
      command => [$zfs, 'snapshot', $snapshot],
      unless  => $snapshot_exists,
    }
  } else {
    # Linux: the template is a directory tree that each jail's root is copied
    # from, the counterpart of the FreeBSD template dataset. The host's /usr is
    # mounted read-only into every jail, so the tree holds only what a jail
    # writes or owns: /etc (with resolv.conf and localtime copied from the
    # host, as on FreeBSD), /var, /tmp and /usr/local.
    $base = "${jails_dir}/templates/base"
    file { [$jails_dir, "${jails_dir}/templates", "${jails_dir}/containers", "${jails_dir}/run"]:
      ensure => directory,
      owner  => 'root',
      mode   => '0755',
    }
    -> file { [$base, "${base}/etc", "${base}/etc/jailgen", "${base}/var", "${base}/var/log",
        "${base}/var/run", "${base}/usr", "${base}/usr/local", "${base}/root"]:
      ensure => directory,
      owner  => 'root',
      mode   => '0755',
    }
    -> file { "${base}/tmp":
      ensure => directory,
      owner  => 'root',
      mode   => '1777',
    }
    -> file { "${base}/etc/resolv.conf":
      ensure => file,
      source => '/etc/resolv.conf',
    }
    -> file { "${base}/etc/localtime":
      ensure => file,
      source => '/etc/localtime',
      links  => follow,
    }
    # The jail's users, as on a FreeBSD base: builds run as www (uid 80).
    -> file { "${base}/etc/passwd":
      ensure  => file,
      mode    => '0644',
      content => "root:x:0:0:root:/root:/bin/sh\nwww:x:80:80:World Wide Web Owner:/nonexistent:/usr/sbin/nologin\n",
    }
    -> file { "${base}/etc/group":
      ensure  => file,
      mode    => '0644',
      content => "root:x:0:\nwww:x:80:\n",
    }
    # Merged /usr, as on the host: these point into the read-only /usr.
    $merged_usr = { 'bin' => 'usr/bin', 'sbin' => 'usr/sbin', 'lib' => 'usr/lib', 'lib64' => 'usr/lib64' }
    $merged_usr.each |String $link, String $target| {
      file { "${base}/${link}":
        ensure  => link,
        target  => $target,
        require => File[$base],
        before  => File["${base}/etc/rc"],
      }
    }

    file { "${base}/etc/rc":
      ensure  => file,
      owner   => 'root',
      mode    => '0755',
      content => file("${module_name}/linux-rc"),
      require => File["${base}/etc/localtime"],
    }
  }
}
