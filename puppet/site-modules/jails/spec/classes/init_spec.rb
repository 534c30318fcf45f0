# frozen_string_literal: true

require 'spec_helper'
require 'tmpdir'

# The main class with data written for each example (not the control repo's):
# routing rules, NGINX reloads, the template guards, and that data which could
# inject into NGINX, jail.conf, rc scripts or command lines is refused at compile time.
describe 'jails' do
  let(:mod) { JailgenSpec::MODULE_NAME }
  let(:node) { 'spec.example.com' }
  let(:platform) { 'freebsd' }
  # pf.conf hooks the anchor these examples name
  let(:pf) { { 'jailgen_pf' => { 'enabled' => true, 'rdr_anchors' => ['jails_spec'], 'skipped' => ['lo0'] } } }
  let(:facts) { JailgenSpec.facts(platform, node).merge(platform == 'freebsd' ? pf : {}) }
  let(:settings) do
    {
      'platform' => 'freebsd',
      'jails_dir' => '/usr/local/jails',
      'interface' => 'lo1',
      'network' => '172.16.0.0/12',
      'host_address' => '172.16.0.1',
      'zfs_root' => 'zroot/jails',
      'freebsd_release' => '14.1-RELEASE',
      'nginx_listen' => '127.0.0.1',
      'nginx_port' => 8080,
      'services' => { 'shop' => { 'live' => '172.31.255.254', 'test' => '172.31.255.253' } },
      'nat_table' => 'jails_spec',
    }
  end
  let(:shop) do
    {
      'domains' => ['shop.example.com', 'www.shop.example.com'],
      'test_domain' => 'shop.test.example.com',
      'source' => 'https://git.example.com/shop.git',
      'command' => ['/usr/local/bin/python3', 'app.py'],
      'port' => 8080,
      'test' => 'shop_3f2a9c1e0b1a',
      'live' => 'shop_0a1b2c3d4e5f',
    }
  end
  let(:jails) do
    {
      'shop_3f2a9c1e0b1a' => { 'ensure' => 'running', 'app' => 'shop', 'revision' => '3f2a9c1e0b1a' + '0' * 28, 'address' => '172.16.0.2' },
      'shop_0a1b2c3d4e5f' => { 'ensure' => 'running', 'app' => 'shop', 'revision' => '0a1b2c3d4e5f' + '0' * 28, 'address' => '172.16.0.3' },
    }
  end
  let(:data) { settings.merge('apps' => { 'shop' => shop }, 'jails' => jails) }

  let(:hiera_dir) { Dir.mktmpdir('hiera') }
  let(:hiera_config) do
    Dir.mkdir(File.join(hiera_dir, 'data'))
    File.write(File.join(hiera_dir, 'data', 'common.yaml'), data.transform_keys { |key| "#{mod}::#{key}" }.to_yaml)
    config = {
      'version' => 5,
      'defaults' => { 'datadir' => 'data', 'data_hash' => 'yaml_data' },
      'hierarchy' => [{ 'name' => 'Common', 'path' => 'common.yaml' }],
    }
    File.write(File.join(hiera_dir, 'hiera.yaml'), config.to_yaml)
    File.join(hiera_dir, 'hiera.yaml')
  end

  after(:each) do
    FileUtils.rm_rf(hiera_dir)
  end

  def nginx_conf
    catalogue.resource('File', '/usr/local/etc/nginx/nginx.conf')[:content]
  end

  def nat_conf
    catalogue.resource('File', '/usr/local/etc/jails_spec.pf')[:content]
  end

  it { is_expected.to compile.with_all_deps }

  describe 'routing' do
    it 'sends the live domains to the live jail and the test domain to the test jail' do
      expect(nginx_conf).to include("upstream shop_live {\n        # never marked down: an empty slot's refusals must not outlast the switch\n" \
                                    "        server 172.31.255.254:8080 max_fails=0;\n    }")
      expect(nginx_conf).to include("upstream shop_test {\n        # never marked down: an empty slot's refusals must not outlast the switch\n" \
                                    "        server 172.31.255.253:8080 max_fails=0;\n    }")
      expect(nginx_conf).not_to include('keepalive 16')
      expect(nat_conf).to include("rdr pass proto tcp from any to 172.31.255.254 port 8080 -> 172.16.0.3 port 8080\n")
      expect(nat_conf).to include("rdr pass proto tcp from any to 172.31.255.253 port 8080 -> 172.16.0.2 port 8080\n")
      expect(nginx_conf).to include("server_name shop.example.com www.shop.example.com;\n\n" \
                                    "        # Nothing answers on the service address while the slot is empty.\n" \
                                    "        location / {\n            proxy_pass http://shop_live;\n")
      expect(nginx_conf).to include("server_name shop.test.example.com;\n" \
                                    "        add_header X-Robots-Tag \"noindex, nofollow\" always;\n\n" \
                                    "        # Nothing answers on the service address while the slot is empty.\n" \
                                    "        location / {\n            proxy_pass http://shop_test;\n")
    end

    it 'loads the NAT anchor with pfctl after checking it, and again when it is missing' do
      is_expected.to contain_file('/usr/local/etc/jails_spec.pf').with_validate_cmd('/sbin/pfctl -n -a jails_spec -f %')
      is_expected.to contain_exec("#{mod}: load nat table")
        .with(command: ['/sbin/pfctl', '-a', 'jails_spec', '-f', '/usr/local/etc/jails_spec.pf'], refreshonly: true)
        .that_subscribes_to('File[/usr/local/etc/jails_spec.pf]')
      is_expected.to contain_exec("#{mod}: restore nat table").without_refreshonly
    end

    context 'when pf is not enabled' do
      let(:facts) { super().merge('jailgen_pf' => { 'enabled' => false, 'rdr_anchors' => ['jails_spec'] }) }

      it { is_expected.to compile.and_raise_error(%r{pf is not enabled: the jails_spec anchor routes the slots \(sysrc pf_enable=YES; service pf start\)}) }
    end

    context 'when pf.conf skips the jails\' interface group' do
      let(:facts) { super().merge('jailgen_pf' => { 'enabled' => true, 'rdr_anchors' => ['jails_spec'], 'skipped' => ['lo'] }) }

      it { is_expected.to compile.and_raise_error(%r{pf.conf skips lo, so pf translates nothing on lo1: set skip on lo0 only}) }
    end

    context 'when pf.conf does not hook the anchor' do
      let(:facts) { super().merge('jailgen_pf' => { 'enabled' => true, 'rdr_anchors' => ['other'] }) }

      it { is_expected.to compile.and_raise_error(%r{pf.conf does not hook the jails_spec anchor: add the line 'rdr-anchor "jails_spec"' to /etc/pf.conf}) }
    end

    it 'passes the host, client address and scheme on over HTTP/1.1' do
      ['proxy_http_version 1.1;', 'proxy_set_header Connection close;', 'proxy_set_header Host $host;',
       'proxy_set_header X-Real-IP $remote_addr;', 'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
       'proxy_set_header X-Forwarded-Proto $scheme;'].each do |line|
        expect(nginx_conf).to include(line)
      end
    end

    context 'with NGINX 1.27.4 or newer' do
      let(:facts) { super().merge('jailgen_nginx_version' => '1.27.4') }

      it('keeps idle client connections open across reloads') { expect(nginx_conf).to include('keepalive_min_timeout 5s;') }
    end

    context 'with NGINX older than 1.27.4' do
      let(:facts) { super().merge('jailgen_nginx_version' => '1.22.1') }

      it('has no keepalive_min_timeout') { expect(nginx_conf).not_to include('keepalive_min_timeout') }
    end

    it 'answers 404 for host names of no app' do
      expect(nginx_conf).to include("listen 127.0.0.1:8080 default_server;\n        server_name _;\n        return 404;")
    end

    context 'when the live jail is stopped and there is no test jail' do
      let(:jails) do
        { 'shop_0a1b2c3d4e5f' => { 'ensure' => 'stopped', 'app' => 'shop', 'revision' => 'a' * 40, 'address' => '172.16.0.3' } }
      end
      let(:shop) { super().reject { |key, _| key == 'test' } }

      it 'answers 503 on both: nothing listens on the service addresses, and NGINX is unchanged' do
        expect(nat_conf).not_to include('rdr')
        expect(nginx_conf).to include("proxy_pass http://shop_live;\n            error_page 502 = @empty;")
        expect(nginx_conf).to include("proxy_pass http://shop_test;\n            error_page 502 = @empty;")
        expect(nginx_conf).to include("location @empty {\n            return 503;")
      end
    end
  end

  describe 'the test domain' do
    it 'is open to everyone but never indexed, and the live domains are indexed' do
      expect(nginx_conf).not_to include('deny all;')
      expect(nginx_conf.scan('X-Robots-Tag').length).to eq(1)
    end

    context 'with test_access' do
      let(:shop) { super().merge('test_access' => { 'networks' => ['10.0.0.0/8', '192.0.2.0/24'], 'htpasswd' => '/usr/local/etc/nginx/qa.htpasswd' }) }

      it 'lets in the networks, this host and the password file, and nobody else' do
        expect(nginx_conf).to include("add_header X-Robots-Tag \"noindex, nofollow\" always;\n\n" \
                                      "        # QA only: the networks listed, or a password from the htpasswd file.\n" \
                                      "        # This host's own 127.0.0.1 is allowed for jailgen's route checks.\n" \
                                      "        satisfy any;\n        allow 127.0.0.1;\n        allow 10.0.0.0/8;\n        allow 192.0.2.0/24;\n" \
                                      "        deny all;\n        auth_basic \"shop test\";\n" \
                                      "        auth_basic_user_file /usr/local/etc/nginx/qa.htpasswd;\n")
        expect(nginx_conf.scan('deny all;').length).to eq(1)
      end

      it 'fails the run naming a missing password file before the configuration is written' do
        is_expected.to contain_exec("#{mod}: /usr/local/etc/nginx/qa.htpasswd must exist on the host")
          .with(command: ['/bin/test', '-r', '/usr/local/etc/nginx/qa.htpasswd'])
          .that_comes_before('File[/usr/local/etc/nginx/nginx.conf]')
      end
    end
  end

  describe 'maintenance' do
    let(:shop) { super().merge('maintenance' => { 'message' => %q(Back <soon> & "then" it's $host \\ {x};), 'retry_after' => 300 }) }

    it 'answers 503 with Retry-After and the escaped page on the live domains, and passes the health path' do
      expect(nginx_conf).to include("        location = /up {\n            proxy_pass http://shop_live;\n            error_page 502 = @empty;\n        }\n")
      expect(nginx_conf).to include("            add_header Retry-After 300 always;\n")
      expect(nginx_conf).to include('<p>Back &lt;soon&gt; &amp; &quot;then&quot; it&#39;s &#36;host &#92; {x};</p>')
      expect(nginx_conf.scan('return 503 \'').length).to eq(1)
    end

    it 'leaves the test domain alone' do
      expect(nginx_conf).to include("server_name shop.test.example.com;\n" \
                                    "        add_header X-Robots-Tag \"noindex, nofollow\" always;\n\n" \
                                    "        # Nothing answers")
    end
  end

  describe 'HTTPS' do
    it 'is not served without tls' do
      expect(nginx_conf).not_to include('ssl')
    end

    context 'with tls' do
      let(:settings) { super().merge('nginx_https_port' => 8443, 'nginx_hsts' => true) }
      let(:shop) { super().merge('tls' => { 'cert' => '/usr/local/etc/ssl/shop.pem', 'key' => '/usr/local/etc/ssl/shop.key' }) }

      it 'redirects HTTP and serves the domains over HTTPS with the certificate and HSTS' do
        expect(nginx_conf).to include("    # shop: live, over HTTP: redirected to HTTPS\n    server {\n" \
                                      "        listen 127.0.0.1:8080;\n        server_name shop.example.com www.shop.example.com;\n\n" \
                                      "        location / {\n            return 301 https://$host:8443$request_uri;\n")
        expect(nginx_conf).to include("    # shop: live\n    server {\n        listen 127.0.0.1:8443 ssl;\n" \
                                      "        server_name shop.example.com www.shop.example.com;\n" \
                                      "        ssl_certificate /usr/local/etc/ssl/shop.pem;\n" \
                                      "        ssl_certificate_key /usr/local/etc/ssl/shop.key;\n" \
                                      "        add_header Strict-Transport-Security \"max-age=31536000\" always;\n")
        expect(nginx_conf).to include("listen 127.0.0.1:8443 ssl default_server;\n        server_name _;\n        ssl_reject_handshake on;")
      end

      it 'fails the run naming a missing certificate or key before the configuration is written' do
        ['/usr/local/etc/ssl/shop.pem', '/usr/local/etc/ssl/shop.key'].each do |file|
          is_expected.to contain_exec("#{mod}: #{file} must exist on the host")
            .that_comes_before('File[/usr/local/etc/nginx/nginx.conf]')
        end
      end
    end
  end

  describe 'ACME' do
    let(:settings) { super().merge('acme' => { 'directory' => 'https://acme.example.net/dir', 'email' => 'ops@example.com' }) }
    let(:shop) { super().merge('tls' => { 'acme' => true }) }

    context 'before the host has the certificates' do
      it 'serves HTTP with the challenge path, and requests a certificate per route with py311-certbot' do
        expect(nginx_conf).not_to include('ssl')
        expect(nginx_conf.scan("location ^~ /.well-known/acme-challenge/ {\n            root /usr/local/www/acme;\n").length).to eq(3)
        is_expected.to contain_package('py311-certbot')
        is_expected.to contain_exec("#{mod}: certificate for shop_live")
          .with(command: ['/usr/local/bin/certbot', 'certonly', '--non-interactive', '--agree-tos', '--email', 'ops@example.com',
                          '--server', 'https://acme.example.net/dir', '--webroot', '--webroot-path', '/usr/local/www/acme',
                          '--cert-name', 'shop_live', '--config-dir', '/usr/local/etc/letsencrypt',
                          '--work-dir', '/usr/local/etc/letsencrypt/work', '--logs-dir', '/usr/local/etc/letsencrypt/logs',
                          '--keep-until-expiring', '--expand', '-d', 'shop.example.com', '-d', 'www.shop.example.com'])
          .that_requires('Service[nginx]')
          .that_notifies("Exec[#{mod}: reload nginx for new certificates]")
        is_expected.to contain_exec("#{mod}: reload nginx for new certificates")
          .with(onlyif: [['/usr/sbin/service', 'nginx', 'status'], ['/usr/local/sbin/nginx', '-t', '-q', '-c', '/usr/local/etc/nginx/nginx.conf']])
        is_expected.to contain_file('/usr/local/etc/letsencrypt/jailgen/shop_test').with_content("https://acme.example.net/dir\nshop.test.example.com\n")
      end
    end

    context 'once the host has the live certificate' do
      let(:facts) { super().merge(jailgen_acme: { 'vardir' => '/var/puppet', 'certificates' => { '/usr/local/etc/letsencrypt' => ['shop_live'] } }) }

      it 'serves the live domains over HTTPS with it, and keeps the challenge path over HTTP' do
        expect(nginx_conf).to include("ssl_certificate /usr/local/etc/letsencrypt/live/shop_live/fullchain.pem;\n" \
                                      "        ssl_certificate_key /usr/local/etc/letsencrypt/live/shop_live/privkey.pem;\n")
        expect(nginx_conf).not_to include('live/shop_test')
        expect(nginx_conf).to include("    # shop: live, over HTTP: redirected to HTTPS\n    server {\n        listen 127.0.0.1:8080;\n" \
                                      "        server_name shop.example.com www.shop.example.com;\n\n" \
                                      "        # ACME http-01 challenges: over HTTP, for everyone, never redirected.\n")
        is_expected.to contain_file('/var/puppet/jailgen_acme_dirs').with_content("/usr/local/etc/letsencrypt\n")
      end
    end
  end

  describe 'reloading NGINX' do
    it 'validates the new configuration with nginx -t before it is used, and reloads the FreeBSD service' do
      is_expected.to contain_file('/usr/local/etc/nginx/nginx.conf')
        .with_validate_cmd('/usr/local/sbin/nginx -t -q -c %')
        .that_notifies('Service[nginx]')
      is_expected.to contain_service('nginx').with(ensure: 'running', restart: '/usr/sbin/service nginx reload')
    end

    context 'with a private NGINX on Linux' do
      let(:platform) { 'linux' }
      let(:settings) do
        super().merge('platform' => 'linux', 'jails_dir' => '/srv/jails', 'interface' => 'lo', 'network' => '127.16.0.0/16',
                      'host_address' => '127.16.0.1', 'nginx_prefix' => '/srv/nginx')
      end
      let(:jails) { super().transform_values { |jail| jail.merge('address' => jail['address'].sub('172.16', '127.16')) } }

      it 'validates with the prefix and reloads that instance gracefully, if it runs' do
        is_expected.to contain_file('/srv/nginx/nginx.conf').with_validate_cmd('/usr/sbin/nginx -t -q -p /srv/nginx -c %')
        is_expected.to contain_exec("#{mod}: reload nginx").with(
          command: ['/usr/sbin/nginx', '-p', '/srv/nginx', '-c', '/srv/nginx/nginx.conf', '-s', 'reload'],
          onlyif: [['/usr/bin/pgrep', '-F', '/srv/nginx/nginx.pid']],
          refreshonly: true,
        ).that_subscribes_to('File[/srv/nginx/nginx.conf]')
        is_expected.not_to contain_service('nginx')
      end
    end

    context 'with an NGINX prefix on FreeBSD' do
      let(:settings) { super().merge('nginx_prefix' => '/opt/nginx') }

      it { is_expected.to compile.and_raise_error(%r{on FreeBSD nginx_prefix can only be /usr/local/etc/nginx, not /opt/nginx}) }
    end
  end

  describe 'the template' do
    let(:snapshot_exists) { [['/sbin/zfs', 'list', '-H', '-o', 'name', '-t', 'snapshot', 'zroot/jails/templates/14.1-RELEASE@base']] }

    it 'is built only while the @base snapshot does not exist' do
      steps = ['fetch 14.1-RELEASE base.txz', 'keep 14.1-RELEASE base.txz', 'extract 14.1-RELEASE base.txz',
               'mark 14.1-RELEASE base.txz extracted', 'copy resolv.conf into 14.1-RELEASE template',
               'copy localtime into 14.1-RELEASE template', 'freebsd-update 14.1-RELEASE template',
               'zfs snapshot zroot/jails/templates/14.1-RELEASE@base']
      steps.each do |step|
        is_expected.to contain_exec("#{mod}: #{step}").with_unless(snapshot_exists)
      end
      is_expected.to contain_exec("#{mod}: zfs snapshot zroot/jails/templates/14.1-RELEASE@base")
        .with_command(['/sbin/zfs', 'snapshot', 'zroot/jails/templates/14.1-RELEASE@base'])
        .that_requires("Exec[#{mod}: freebsd-update 14.1-RELEASE template]")
    end

    it 'comes before every jail' do
      is_expected.to contain_jail('shop_3f2a9c1e0b1a').that_requires("Class[#{mod}::template]")
    end
  end

  describe 'a release' do
    it 'is put into its jail after the jail exists, and restarts the jail when it changes' do
      is_expected.to contain_exec("#{mod}: check out #{'3f2a9c1e0b1a' + '0' * 28} in shop_3f2a9c1e0b1a")
        .with_command(['/usr/local/bin/git', '-c', 'safe.directory=/usr/local/jails/containers/shop_3f2a9c1e0b1a/usr/local/shop',
                       '-C', '/usr/local/jails/containers/shop_3f2a9c1e0b1a/usr/local/shop', 'checkout',
                       '--quiet', '--detach', '3f2a9c1e0b1a' + '0' * 28])
        .that_notifies('Jail_restart[shop_3f2a9c1e0b1a]')
      is_expected.to contain_file('/usr/local/jails/containers/shop_3f2a9c1e0b1a/usr/local/etc/rc.d/shop')
        .with_content(%r{/usr/bin/env ADDRESS=172\.16\.0\.2 HOST=172\.16\.0\.2 JAILGEN_APP=shop .* PORT=8080 \\\n\s+/usr/local/bin/python3 app\.py\n})
        .that_notifies('Jail_restart[shop_3f2a9c1e0b1a]')
    end

    # rc.subr(8) runs kill(1) as ${name}_user to stop a service; the daemon(8)
    # supervisor runs as root, so the script must not set that variable.
    it 'names the user the app runs as without using rc.subr\'s ${name}_user' do
      is_expected.to contain_file('/usr/local/jails/containers/shop_3f2a9c1e0b1a/usr/local/etc/rc.d/shop')
        .with_content(/^: "\$\{shop_runas:=www\}"$/)
        .with_content(/ -u "\$\{shop_runas\}" /)
        .without_content(/\$\{shop_user|^shop_user=/)
    end

    context 'with build commands' do
      let(:shop) { super().merge('build' => [['/usr/local/bin/python3.11', '-m', 'venv', '.venv'], ['.venv/bin/pip', 'install', '-r', 'requirements.txt']]) }
      let(:checkout) { "Exec[#{mod}: check out #{'3f2a9c1e0b1a' + '0' * 28} in shop_3f2a9c1e0b1a]" }

      it 'builds after the checkout and the packages, before the service, and restarts the jail when built' do
        is_expected.to contain_jail_build('shop_3f2a9c1e0b1a')
          .with_app('shop')
          .with_revision('3f2a9c1e0b1a' + '0' * 28)
          .with_path('/usr/local/jails/containers/shop_3f2a9c1e0b1a')
          .with_directory('/usr/local/shop')
          .with_commands([['/usr/local/bin/python3.11', '-m', 'venv', '.venv'], ['.venv/bin/pip', 'install', '-r', 'requirements.txt']])
          .with_environment('ADDRESS' => '172.16.0.2', 'HOST' => '172.16.0.2', 'PORT' => 8080, 'JAILGEN_APP' => 'shop',
                            'JAILGEN_JAIL' => 'shop_3f2a9c1e0b1a', 'JAILGEN_REVISION' => '3f2a9c1e0b1a' + '0' * 28)
          .with_user('www')
          .that_requires(checkout)
          .that_notifies('Jail_restart[shop_3f2a9c1e0b1a]')
        is_expected.to contain_file('/usr/local/jails/containers/shop_3f2a9c1e0b1a/usr/local/etc/rc.d/shop')
          .that_requires('Jail_build[shop_3f2a9c1e0b1a]')
      end
    end

    it 'has no build when the app has none' do
      is_expected.not_to contain_jail_build('shop_3f2a9c1e0b1a')
    end
  end

  describe 'refuses data that could inject' do
    {
      'a domain with NGINX syntax' => ['apps', ->(d) { d['apps']['shop']['domains'] = ['shop.example.com; return 200'] }],
      'a test domain with a space' => ['apps', ->(d) { d['apps']['shop']['test_domain'] = 'a.example.com b.example.com' }],
      'an app name with a brace' => ['apps', ->(d) { d['apps']['shop{'] = d['apps'].delete('shop') }],
      'a jail parameter value with a semicolon' => ['apps', ->(d) { d['apps']['shop']['jail_params'] = { 'osrelease' => '1; persist' } }],
      'a jail parameter value with a quote' => ['apps', ->(d) { d['apps']['shop']['jail_params'] = { 'osrelease' => 'a"b' } }],
      'a jail parameter name with a space' => ['apps', ->(d) { d['apps']['shop']['jail_params'] = { 'allow raw_sockets' => true } }],
      'a command with a newline' => ['apps', ->(d) { d['apps']['shop']['command'] = ["app.py\nrm -rf /"] }],
      'a build command with a newline' => ['apps', ->(d) { d['apps']['shop']['build'] = [["pip\nrm -rf /"]] }],
      'an empty build command' => ['apps', ->(d) { d['apps']['shop']['build'] = [[]] }],
      'an environment name with a space' => ['apps', ->(d) { d['apps']['shop']['environment'] = { 'A B' => 'x' } }],
      'a source that is an option' => ['apps', ->(d) { d['apps']['shop']['source'] = '--upload-pack=touch /tmp/x' }],
      'a package that is an option' => ['apps', ->(d) { d['apps']['shop']['packages'] = ['-y'] }],
      'a test network with NGINX syntax' => ['apps', ->(d) { d['apps']['shop']['test_access'] = { 'networks' => ['10.0.0.0/8; allow all'] } }],
      'a maintenance message with a newline' => ['apps', ->(d) { d['apps']['shop']['maintenance'] = { 'message' => "a\nb", 'retry_after' => 1 } }],
      'a certificate path with a semicolon' => ['apps', ->(d) { d['apps']['shop']['tls'] = { 'cert' => '/a;b', 'key' => '/k' } }],
      'an htpasswd path with a space' => ['apps', ->(d) { d['apps']['shop']['test_access'] = { 'networks' => [], 'htpasswd' => '/etc/a b' } }],
      'a revision that is not a commit id' => ['jails', ->(d) { d['jails']['shop_3f2a9c1e0b1a']['revision'] = 'HEAD; id' }],
      'an address that is not IPv4' => ['jails', ->(d) { d['jails']['shop_3f2a9c1e0b1a']['address'] = '172.16.0.2; persist' }],
      'a jail name with a dot' => ['jails', ->(d) { d['jails']['shop.x'] = d['jails'].delete('shop_3f2a9c1e0b1a') }],
      'a jails_dir with ..' => ['jails_dir', ->(d) { d['jails_dir'] = '/usr/local/../../etc' }],
    }.each do |description, (key, change)|
      context "with #{description}" do
        let(:data) { super().tap { |d| change.call(d) } }

        it { is_expected.to compile.and_raise_error(/Class\[#{mod.capitalize}\]:\s+parameter '#{key}'/) }
      end
    end

    context 'with a jail of an unknown app' do
      let(:data) { super().tap { |d| d['jails']['shop_3f2a9c1e0b1a']['app'] = 'blog' } }

      it { is_expected.to compile.and_raise_error(/jail shop_3f2a9c1e0b1a belongs to app blog, which is not in #{mod}::apps/) }
    end
  end
end
