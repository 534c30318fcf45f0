# @summary Certificates from an ACME server for the routes of apps with `tls: {acme: true}`.
#
# certbot (Debian's `certbot`, FreeBSD's `py311-certbot`: the same client, the
# same flags and directory layout on both) obtains one certificate per route
# (`<app>_<slot>`, for the route's domains) with the http-01 challenge: it
# writes the token under `webroot`, which NGINX serves at
# `/.well-known/acme-challenge/` over HTTP on every domain, redirected to HTTPS
# or not, restricted to QA or not. It runs after NGINX has its configuration,
# and again whenever the domains or the ACME server change or the certificate
# has less than 30 days left (renewal on the regular Puppet runs).
#
# NGINX uses a certificate once the fact `jailgen_acme` reports it (from the
# next run on): before that the route is served over HTTP. A renewed
# certificate is picked up by a graceful reload, run only if `nginx -t`
# accepts the configuration.
#
# @param platform
#   `freebsd` or `linux`.
# @param settings
#   The ACME server: `directory`, `email`, and optionally `ca_bundle` (trusted
#   for the server's own HTTPS).
# @param config_dir
#   certbot's configuration directory: accounts, and `live/<name>/` with the certificates.
# @param webroot
#   Where certbot puts the challenge tokens, readable by NGINX's workers.
# @param routes
#   The routes with `acme`: `app`, `slot` and `server_names`.
# @param reload
#   The command that reloads NGINX gracefully.
# @param check
#   The commands that must succeed before a reload: NGINX runs, `nginx -t` passes.
class jails::acme (
  Jails::Platform $platform,
  Hash[String, String] $settings,
  Jails::Path $config_dir,
  Jails::Path $webroot,
  Array[Hash] $routes,
  Array[String] $reload,
  Array[Array[String]] $check,
) {
  if $platform == 'freebsd' {
    $certbot = '/usr/local/bin/certbot'
    package { 'py311-certbot':
      ensure => installed,
    }
    $client = Package['py311-certbot']
  } else {
    $certbot = '/usr/bin/certbot'
    package { 'certbot':
      ensure => installed,
    }
    $client = Package['certbot']
  }
  $requests = "${config_dir}/jailgen"

  file { [$config_dir, $requests, $webroot]:
    ensure => directory,
    owner  => 'root',
    mode   => '0755',
  }

  # The fact reads this list to report which certificates exist.
  $vardir = $facts.dig('jailgen_acme', 'vardir')
  if $vardir =~ String {
    file { "${vardir}/jailgen_acme_dirs":
      ensure  => file,
      mode    => '0644',
      content => "${config_dir}\n",
    }
  }

  $environment = $settings['ca_bundle'].then |String $bundle| { ["REQUESTS_CA_BUNDLE=${bundle}"] }.lest || { [] }

  exec { "${module_name}: reload nginx for new certificates":
    command     => $reload,
    onlyif      => $check,
    refreshonly => true,
  }

  $routes.each |Hash $route| {
    $name = "${route['app']}_${route['slot']}"
    # What the certificate is for; it is requested again when this changes.
    $request = "${requests}/${name}"
    $wanted = [$settings['directory']] + $route['server_names']
    file { $request:
      ensure  => file,
      mode    => '0644',
      content => "${wanted.join("\n")}\n",
    }

    $domains = $route['server_names'].map |String $domain| { ['-d', $domain] }.flatten
    exec { "${module_name}: certificate for ${name}":
      command     => [
        $certbot, 'certonly', '--non-interactive', '--agree-tos', '--email', $settings['email'],
        '--server', $settings['directory'], '--webroot', '--webroot-path', $webroot,
        '--cert-name', $name, '--config-dir', $config_dir, '--work-dir', "${config_dir}/work",
        '--logs-dir', "${config_dir}/logs", '--keep-until-expiring', '--expand',
      ] + $domains,
      environment => $environment,
      unless      => [
        ['/usr/bin/cmp', '-s', $request, "${request}.issued"],
        ['/usr/bin/openssl', 'x509', '-checkend', '2592000', '-noout', '-in', "${config_dir}/live/${name}/fullchain.pem"],
      ],
      timeout     => 600,
      logoutput   => 'on_failure',
      require     => [File[$request, $webroot], $client],
      notify      => Exec["${module_name}: reload nginx for new certificates"],
    }

    exec { "${module_name}: record the request of ${name}":
      command     => ['/bin/cp', $request, "${request}.issued"],
      refreshonly => true,
      subscribe   => Exec["${module_name}: certificate for ${name}"],
    }
  }
}
