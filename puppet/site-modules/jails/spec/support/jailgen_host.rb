# frozen_string_literal: true

# What every jailgen host's catalog must contain, derived from the node's own
# Hiera data (so the expectations follow the data jailgen writes).
RSpec.shared_examples 'a jailgen host' do |certname|
  mod = JailgenSpec::MODULE_NAME
  release_matcher = "contain_#{mod}__release"
  data = JailgenSpec.hiera_data(certname)
  platform = JailgenSpec.lookup(data, 'platform')
  jails_dir = JailgenSpec.lookup(data, 'jails_dir')
  zfs_root = JailgenSpec.lookup(data, 'zfs_root')
  apps = JailgenSpec.lookup(data, 'apps', {})
  jails = JailgenSpec.lookup(data, 'jails', {})
  prefix = JailgenSpec.lookup(data, 'nginx_prefix')
  services = JailgenSpec.lookup(data, 'services', {})
  nat_table = JailgenSpec.lookup(data, 'nat_table', mod)
  nat_conf = if platform == 'freebsd'
               "/usr/local/etc/#{nat_table}.pf"
             elsif prefix
               "#{prefix}/nat.nft"
             else
               "/etc/nginx/#{nat_table}.nft"
             end
  nginx_conf = if platform == 'freebsd'
                 '/usr/local/etc/nginx/nginx.conf'
               elsif prefix
                 "#{prefix}/nginx.conf"
               else
                 '/etc/nginx/nginx.conf'
               end

  it { is_expected.to compile.with_all_deps }
  it { is_expected.to contain_class(mod) }
  it { is_expected.to contain_class("#{mod}::template") }

  it 'validates the NGINX configuration before it replaces the running one' do
    is_expected.to contain_file(nginx_conf).with_validate_cmd(/\A\S+nginx -t -q .*-c %\z/)
  end

  jails.each do |name, jail|
    context "with jail #{name} (#{jail['ensure']})" do
      expected = {
        ensure: jail['ensure'],
        address: jail['address'],
        path: "#{jails_dir}/containers/#{name}",
        hostname: name,
      }
      expected[:dataset] = "#{zfs_root}/containers/#{name}" if platform == 'freebsd'

      it { is_expected.to contain_jail(name).with(expected) }

      if jail['ensure'] == 'absent'
        it { is_expected.not_to send(release_matcher, name) }
        it { is_expected.to contain_jail(name).that_requires("Class[#{mod}::nginx]") }
      else
        it do
          is_expected.to send(release_matcher, name)
            .with(app: jail['app'], revision: jail['revision'], address: jail['address'])
            .that_requires("Jail[#{name}]")
        end

        it 'restarts the jail, once it is running, when its release changes' do
          is_expected.to contain_jail_restart(name).that_requires("Jail[#{name}]")
        end
      end
    end
  end

  apps.each do |app_name, app|
    %w[live test].each do |slot|
      jail = jails[app[slot]] if app[slot]
      next if slot == 'test' && app['test_domain'].nil?

      service = Regexp.escape(services.fetch(app_name).fetch(slot))
      port = app['port']
      it "proxies #{app_name}'s #{slot} domains to the slot's service address" do
        is_expected.to contain_file(nginx_conf)
          .with_content(/upstream #{app_name}_#{slot} \{\n.*\n\s+server #{service}:#{port} max_fails=0;/)
      end

      rule = if platform == 'freebsd'
               "to #{service} port = #{port} -> "
             else
               "ip daddr #{service} tcp dport #{port} dnat to "
             end
      if jail && jail['ensure'] == 'running'
        it "maps #{app_name}'s #{slot} service address to #{app[slot]}" do
          target = platform == 'freebsd' ? "#{Regexp.escape(jail['address'])} port #{port}" : "#{Regexp.escape(jail['address'])}:#{port}"
          is_expected.to contain_file(nat_conf).with_content(/#{rule.gsub(' = ', ' ')}#{target}$/)
        end
      else
        it "maps #{app_name}'s #{slot} service address nowhere, so NGINX answers 503" do
          is_expected.not_to contain_file(nat_conf).with_content(/#{rule.gsub(' = ', ' ')}/)
        end
      end
    end
  end
end
