# @summary Puts one release of an app into its jail: the exact source revision, packages and a service.
#
# The title is the jail's name. The jail must exist first (its tree is the
# clone this define writes into); whenever anything here changes, a running
# jail is restarted so that its rc scripts start the app as released.
#
# Everything runs on the host, against the jail's tree: the host has the network
# access the jails, which only have an address on the jail interface, lack.
#
# On FreeBSD: `git clone` plus `git checkout --detach <revision>`
# into `<path>/usr/local/<app>`, `pkg -r <path> install` of each package (pkg -r
# works whether or not the jail is running, so provisioning and starting are
# independent), an rc.d script that runs the app under daemon(8), enabled with
# `sysrc -f <path>/etc/rc.conf`, and newsyslog rotation of its log.
#
# On Linux: the same checkout and a start script at `<path>/etc/jailgen/<app>.sh`.
#
# When the app has `build` commands, they run once per release in the checkout
# (a `jail_build`), after the checkout and the packages and before the service
# is set up: a release whose build failed is never started, and its build is
# tried again on the next run.
#
# @param platform
#   `freebsd` or `linux`.
# @param app
#   The app's name; also the name of its rc.d service.
# @param revision
#   The full git commit id to check out.
# @param source
#   The git repository to clone (URL or path).
# @param path
#   The jail's root directory on the host.
# @param address
#   The jail's address, given to the app as `HOST`.
# @param port
#   The port the app listens on, given to the app as `PORT`.
# @param command
#   The app's argv, run from the checkout directory.
# @param environment
#   Extra environment variables for the app (HOST, PORT and the JAILGEN_*
#   variables are set by this define and take precedence).
# @param packages
#   Packages to install into the jail (FreeBSD).
# @param build
#   Argument vectors run once per release in the checkout, as `user`, with the
#   jail's binaries and the host's network, before the service starts.
# @param user
#   The user the app runs as inside the jail (FreeBSD), and its build runs as.
define {{ module }}::release (
  {{ module|capitalize }}::Platform $platform,
  {{ module|capitalize }}::Appname $app,
  {{ module|capitalize }}::Revision $revision,
  Pattern[/\A[A-Za-z0-9\/.~_@:+][[:graph:]]*\z/] $source,
  {{ module|capitalize }}::Path $path,
  {{ module|capitalize }}::Ipv4 $address,
  Integer[1, 65535] $port,
  Array[Pattern[/\A[^\x00-\x1f]+\z/], 1] $command,
  Hash[Pattern[/\A[A-Za-z_][A-Za-z0-9_]*\z/], Scalar] $environment = {},
  Array[Pattern[/\A[A-Za-z0-9][A-Za-z0-9_.+@\/-]*\z/]] $packages = [],
  Array[Array[Pattern[/\A[^\x00-\x1f]+\z/], 1]] $build = [],
  Pattern[/\A[a-z_][a-z0-9_-]*\z/] $user = 'www',
) {
  assert_type({{ module|capitalize }}::Jailname, $title)

  $checkout = "/usr/local/${app}"
  $git = $platform ? {
    'freebsd' => '/usr/local/bin/git',
    default   => '/usr/bin/git',
  }
  $variables = $environment + {
    'ADDRESS'          => $address,
    'HOST'             => $address,
    'PORT'             => $port,
    'JAILGEN_APP'      => $app,
    'JAILGEN_JAIL'     => $title,
    'JAILGEN_REVISION' => $revision,
  }
  $service = {
    'app'         => $app,
    'jail'        => $title,
    'revision'    => $revision,
    'directory'   => $checkout,
    'environment' => $variables.keys.sort.map |String $key| { "${key}=${variables[$key]}" },
    'command'     => $command,
  }

  # The jail has to exist before its release can be put into it, so the release
  # cannot notify the jail itself (a cycle); it notifies this resource, which
  # comes after it and restarts the jail if it is running, so that the jail's
  # rc scripts start the app exactly as they will at boot.
  jail_restart { $title: }

  exec { "${module_name}: clone ${app} into ${title}":
    command => [$git, 'clone', '--quiet', '--', $source, "${path}${checkout}"],
    creates => "${path}${checkout}/.git",
    timeout => 900,
  }
  # A built checkout belongs to the app's user: git is told it is safe.
  -> exec { "${module_name}: check out ${revision} in ${title}":
    command => [$git, '-c', "safe.directory=${path}${checkout}", '-C', "${path}${checkout}", 'checkout', '--quiet',
      '--detach', $revision],
    unless  => [['/bin/sh', '-c', 'test "$("$1" -c safe.directory="$2" -C "$2" rev-parse HEAD)" = "$3"', 'sh', $git,
      "${path}${checkout}", $revision]],
    notify  => Jail_restart[$title],
  }

  if $build.empty {
    $built = []
  } else {
    # Notifying the restart also orders it after the build: when the build
    # fails, the restart is skipped and the service is not set up.
    jail_build { $title:
      app         => $app,
      revision    => $revision,
      path        => $path,
      directory   => $checkout,
      commands    => $build,
      environment => $variables,
      user        => $user,
      require     => Exec["${module_name}: check out ${revision} in ${title}"],
      notify      => Jail_restart[$title],
    }
    $built = [Jail_build[$title]]
  }

  if $platform == 'freebsd' {
    $packages.each |String $package| {
      exec { "${module_name}: install ${package} into ${title}":
        command => ['/usr/sbin/pkg', '-r', $path, 'install', '-y', $package],
        unless  => [['/usr/sbin/pkg', '-r', $path, 'info', '-e', $package]],
        timeout => 1800,
        notify  => Jail_restart[$title],
        before  => $built,
      }
    }

    file { ["${path}/usr/local/etc", "${path}/usr/local/etc/rc.d"]:
      ensure => directory,
    }

    file { "${path}/usr/local/etc/rc.d/${app}":
      ensure  => file,
      owner   => 'root',
      group   => 'wheel',
      mode    => '0755',
      content => epp("${module_name}/rc.epp", $service + { 'user' => $user }),
      require => $built,
      notify  => Jail_restart[$title],
    }

    # Rotated at 1 MB, seven compressed generations kept; daemon(8) reopens the
    # log on SIGHUP (-H).
    $log = "/var/log/${app}.log"
    file { "${path}/etc/newsyslog.conf.d/${app}.conf":
      ensure  => file,
      owner   => 'root',
      group   => 'wheel',
      mode    => '0644',
      content => "# Managed by Puppet (jailgen).\n${log}\troot:wheel\t640\t7\t1000\t*\tJC\t/var/run/${app}.pid\n",
    }

    # A fresh base has no /etc/rc.conf; sysrc -f needs the file to exist.
    file { "${path}/etc/rc.conf":
      ensure => file,
    }
    -> exec { "${module_name}: enable ${app} in ${title}":
      command => ['/usr/sbin/sysrc', '-f', "${path}/etc/rc.conf", "${app}_enable=YES"],
      unless  => [['/usr/sbin/sysrc', '-c', '-f', "${path}/etc/rc.conf", "${app}_enable=YES"]],
      notify  => Jail_restart[$title],
    }
  } else {
    file { "${path}/etc/jailgen":
      ensure => directory,
    }

    file { "${path}/etc/jailgen/${app}.sh":
      ensure  => file,
      mode    => '0755',
      content => epp("${module_name}/run.epp", $service + { 'user' => $user }),
      require => $built,
      notify  => Jail_restart[$title],
    }
  }
}
