# @summary NGINX in front of the jails: per app a live and a test route, in one validated file.
#
# Each app's live domains are proxied to the running jail in its `live` slot and
# its test domain to the running jail in its `test` slot; a slot without a
# running jail answers 503, and a host name that belongs to no app gets 404.
#
# The whole configuration is one file. Puppet writes it only after `nginx -t`
# has accepted the new content, so a configuration that fails validation never
# replaces the one NGINX is running, and the run fails with NGINX's message. A
# change is applied with a graceful reload (old workers finish their requests),
# never a stop and start.
#
# On FreeBSD the packaged NGINX is managed (`service nginx reload`). On Linux,
# with `prefix` set, a private instance under that prefix is configured
# (configuration `<prefix>/nginx.conf`, pid file `<prefix>/nginx.pid`, logs in
# `<prefix>/logs`, temporary files in `<prefix>/tmp`) and reloaded with
# `nginx -p <prefix> -c <prefix>/nginx.conf -s reload` if it is running; it is
# started by whoever owns it. Without `prefix`, the system NGINX is configured.
#
# @param platform
#   `freebsd` or `linux`.
# @param listen
#   Address NGINX listens on.
# @param port
#   Port NGINX listens on.
# @param https_port
#   Port NGINX serves HTTPS on, for apps with `tls`: their domains are served
#   there with the app's certificate, and HTTP redirects to it.
# @param hsts
#   Whether HTTPS answers carry `Strict-Transport-Security` (one year).
# @param acme
#   The ACME server (`directory`, `email`, optionally `webroot` and
#   `ca_bundle`), for apps with `tls: {acme: true}`: see `jails::acme`.
# @param apps
#   Apps by name, as in `jails::apps`.
# @param jails
#   Jails by name, as in `jails::jails`.
# @param prefix
#   Linux only: the prefix of a private NGINX instance.
# @param services
#   Per app, the stable service address of each slot. NGINX proxies a slot to
#   its service address and `jails::nat` maps that address to the slot's
#   running jail, so a slot switch changes the NAT table, not this file, and
#   NGINX is not reloaded (a reload closes idle client keep-alive connections).
# @param nat_table
#   Name of the NAT table or pf anchor.
class jails::nginx (
  Jails::Platform $platform,
  Jails::Ipv4 $listen,
  Integer[1, 65535] $port,
  Hash[Jails::Appname, Jails::App] $apps,
  Hash[Jails::Jailname, Jails::Jail] $jails,
  Integer[1, 65535] $https_port = 443,
  Boolean $hsts = false,
  Optional[Hash[String, String]] $acme = undef,
  Optional[Jails::Path] $prefix = undef,
  Hash[Jails::Appname, Hash[Enum['live', 'test'], Jails::Ipv4]] $services = {},
  String $nat_table = 'jails',
) {
  if $platform == 'freebsd' {
    if $prefix !~ Undef and $prefix != '/usr/local/etc/nginx' {
      fail("${module_name}: on FreeBSD nginx_prefix can only be /usr/local/etc/nginx, not ${prefix}")
    }
    $binary = '/usr/local/sbin/nginx'
    $config = '/usr/local/etc/nginx/nginx.conf'
    $pid_file = '/var/run/nginx.pid'
    $log_dir = '/var/log/nginx'
    $temp_dir = undef
    $validate_cmd = "${binary} -t -q -c %"
  } elsif $prefix =~ Undef {
    $binary = '/usr/sbin/nginx'
    $config = '/etc/nginx/nginx.conf'
    $pid_file = '/run/nginx.pid'
    $log_dir = '/var/log/nginx'
    $temp_dir = undef
    $validate_cmd = "${binary} -t -q -c %"
  } else {
    $binary = '/usr/sbin/nginx'
    $config = "${prefix}/nginx.conf"
    $pid_file = "${prefix}/nginx.pid"
    $log_dir = "${prefix}/logs"
    $temp_dir = "${prefix}/tmp"
    $validate_cmd = "${binary} -t -q -p ${prefix} -c %"
  }

  # certbot's directory (the packaged default, or one per private NGINX) and
  # the certificates the fact found there when this run started.
  $acme_dir = $platform ? {
    'freebsd' => '/usr/local/etc/letsencrypt',
    default   => $prefix.then |String $dir| { "${dir}/acme" }.lest || { '/etc/letsencrypt' },
  }
  $acme_webroot = $acme.then |Hash $server| {
    $server['webroot'].lest || { $platform ? { 'freebsd' => '/usr/local/www/acme', default => '/var/lib/letsencrypt/webroot' } }
  }
  $obtained = $facts.dig('jailgen_acme', 'certificates', $acme_dir).lest || { [] }

  # One route per app and slot that has domains: the names it serves, and the
  # address of the running jail behind it (undef when there is none).
  $routes = $apps.keys.sort.map |String $name| {
    $app = $apps[$name]
    $server_names = {
      'live' => $app['domains'],
      'test' => $app['test_domain'].then |String $domain| { [$domain] }.lest || { [] },
    }
    ['live', 'test'].map |String $slot| {
      $jail = $app[$slot].then |String $jail_name| { $jails[$jail_name] }
      $backend = $jail.then |Hash $running| {
        if $running['ensure'] == 'running' { "${running['address']}:${app['port']}" }
      }
      $service = $services.dig($name, $slot)
      # HTTPS with the app's files, or with the ACME certificate once there is one.
      $acme_route = $app.dig('tls', 'acme') == true
      $cert_name = "${name}_${slot}"
      $tls = if $acme_route {
        if $cert_name in $obtained {
          $files = {
            'cert' => "${acme_dir}/live/${cert_name}/fullchain.pem",
            'key'  => "${acme_dir}/live/${cert_name}/privkey.pem",
          }
          $files
        }
      } else {
        $app['tls']
      }
      # In maintenance the live domains answer 503 with a page of the message,
      # HTML-escaped, backslash and dollar included (NGINX strings interpret them).
      $maintenance = $slot ? {
        'live'  => $app['maintenance'].then |Hash $on| {
          $escaped = $on['message'].regsubst('&', '&amp;', 'G').regsubst('<', '&lt;', 'G')
            .regsubst('>', '&gt;', 'G').regsubst('"', '&quot;', 'G').regsubst("'", '&#39;', 'G')
            .regsubst(/\\/, '&#92;', 'G').regsubst(/\$/, '&#36;', 'G')
          $page = { 'message_html' => $escaped, 'retry_after' => $on['retry_after'] }
          $page
        },
        default => undef,
      }
      $route = {
        'app'          => $name,
        'slot'         => $slot,
        'server_names' => $server_names[$slot],
        'upstream'     => "${name}_${slot}",
        'service'      => $service.then |String $address| { "${address}:${app['port']}" },
        'backend'      => $backend,
        'access'       => $slot ? { 'test' => $app['test_access'], default => undef },
        'maintenance'  => $maintenance,
        'health'       => $app['health'].lest || { '/up' },
        'tls'          => $tls,
        'acme'         => $acme_route,
      }
      $route
    }
  }.flatten.filter |Hash $route| { !$route['server_names'].empty }

  # keepalive_min_timeout (NGINX 1.27.4) keeps idle client connections open
  # across the reloads that catalog changes still need.
  $nginx_version = $facts['jailgen_nginx_version']
  $keepalive_min = $nginx_version =~ String and versioncmp($nginx_version, '1.27.4') >= 0

  $nat_config = $platform ? {
    'freebsd' => "/usr/local/etc/${nat_table}.pf",
    default   => $prefix.then |String $dir| { "${dir}/nat.nft" }.lest || { "/etc/nginx/${nat_table}.nft" },
  }
  class { 'jails::nat':
    platform => $platform,
    table    => $nat_table,
    config   => $nat_config,
    routes   => $routes,
  }
  contain jails::nat

  # Files NGINX reads at request time that `nginx -t` does not check: a
  # missing one fails the run, naming it, and the configuration that needs it
  # is not written, so NGINX keeps serving with the one it has.
  $needed_files = $routes.map |Hash $route| {
    [$route.dig('access', 'htpasswd'), $route.dig('tls', 'cert'), $route.dig('tls', 'key')]
  }.flatten.filter |$file| { $file =~ String }.unique.sort
  $needed_files.each |String $file| {
    exec { "${module_name}: ${file} must exist on the host":
      command => ['/bin/test', '-r', $file],
      unless  => [['/bin/test', '-r', $file]],
      before  => File[$config],
    }
  }

  $content = epp("${module_name}/nginx.conf.epp", {
    'keepalive_min' => $keepalive_min,
    'listen'     => $listen,
    'port'       => $port,
    'https_port' => $https_port,
    'hsts'       => $hsts,
    'acme_webroot' => $acme_webroot,
    'pid_file'   => $pid_file,
    'error_log'  => "${log_dir}/error.log",
    'access_log' => "${log_dir}/access.log",
    'temp_dir'   => $temp_dir,
    'routes'     => $routes,
  })

  if $platform == 'freebsd' {
    package { 'nginx':
      ensure => installed,
      before => File[$config],
    }

    file { $config:
      ensure       => file,
      owner        => 'root',
      group        => 'wheel',
      mode         => '0644',
      content      => $content,
      validate_cmd => $validate_cmd,
      notify       => Service['nginx'],
    }

    # Refreshing the service reloads NGINX; it is started only if it is not running.
    service { 'nginx':
      ensure     => running,
      enable     => true,
      hasstatus  => true,
      hasrestart => true,
      restart    => '/usr/sbin/service nginx reload',
    }
    $ready = Service['nginx']
    $reload_nginx = ['/usr/sbin/service', 'nginx', 'reload']
    $nginx_check = [['/usr/sbin/service', 'nginx', 'status'], [$binary, '-t', '-q', '-c', $config]]
  } else {
    if $temp_dir =~ NotUndef {
      file { [$prefix, $log_dir, $temp_dir]:
        ensure => directory,
        owner  => 'root',
        mode   => '0755',
        before => File[$config],
      }
      $reload = [$binary, '-p', $prefix, '-c', $config, '-s', 'reload']
      $test_argv = [$binary, '-t', '-q', '-p', $prefix, '-c', $config]
    } else {
      $reload = [$binary, '-s', 'reload']
      $test_argv = [$binary, '-t', '-q', '-c', $config]
    }

    file { $config:
      ensure       => file,
      owner        => 'root',
      mode         => '0644',
      content      => $content,
      validate_cmd => $validate_cmd,
    }

    # Nothing to reload while NGINX is not running: it reads this file when it starts.
    exec { "${module_name}: reload nginx":
      command     => $reload,
      onlyif      => [['/usr/bin/pgrep', '-F', $pid_file]],
      refreshonly => true,
      subscribe   => File[$config],
    }

    if $temp_dir =~ NotUndef {
      # The private instance is started when it is not running (it daemonizes
      # and outlives the run); from then on changes arrive by graceful reload.
      exec { "${module_name}: start nginx":
        command => [$binary, '-p', $prefix, '-c', $config],
        unless  => [['/usr/bin/pgrep', '-F', $pid_file]],
        require => [File[$config], Exec["${module_name}: reload nginx"]],
      }
      $ready = Exec["${module_name}: start nginx"]
    } else {
      $ready = Exec["${module_name}: reload nginx"]
    }
    $reload_nginx = $reload
    $nginx_check = [['/usr/bin/pgrep', '-F', $pid_file], $test_argv]
  }

  if $acme =~ NotUndef {
    # After NGINX serves the challenge path: certbot's server validates through it.
    class { 'jails::acme':
      platform   => $platform,
      settings   => $acme,
      config_dir => $acme_dir,
      webroot    => $acme_webroot,
      routes     => $routes.filter |Hash $route| { $route['acme'] },
      reload     => $reload_nginx,
      check      => $nginx_check,
      require    => $ready,
    }
    contain jails::acme
  }
}
