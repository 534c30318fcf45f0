# frozen_string_literal: true

require 'spec_helper'
require 'tmpdir'

# The main class on every operating system metadata.json supports, with the
# facts rspec-puppet-facts finds for it in facterdb and the platform that
# operating system runs (FreeBSD: jails on ZFS; Debian: the linux provider).
describe 'jails' do
  it 'has a facts set for each operating system in metadata.json' do
    expect(on_supported_os(supported_os: JailgenSpec::SUPPORTED_OS).keys.sort)
      .to eq(%w[debian-12-x86_64 freebsd-14-amd64])
  end

  on_supported_os(supported_os: JailgenSpec::SUPPORTED_OS).each do |os, os_facts|
    context "on #{os}" do
      freebsd = os_facts['kernel'] == 'FreeBSD'
      mod = JailgenSpec::MODULE_NAME
      jail = 'shop_3f2a9c1e0b1a'
      address = freebsd ? '172.16.0.2' : '127.16.0.2'
      nginx_conf = freebsd ? '/usr/local/etc/nginx/nginx.conf' : '/srv/nginx/nginx.conf'
      nat_conf = freebsd ? '/usr/local/etc/jails_spec.pf' : '/srv/nginx/nat.nft'

      # on FreeBSD pf is enabled and pf.conf hooks the anchor these examples name
      let(:facts) { freebsd ? os_facts.merge('jailgen_pf' => { 'enabled' => true, 'rdr_anchors' => ['jails_spec'], 'skipped' => [] }) : os_facts }
      let(:data) do
        platform = if freebsd
                     { 'platform' => 'freebsd', 'jails_dir' => '/usr/local/jails', 'interface' => 'lo1',
                       'network' => '172.16.0.0/12', 'host_address' => '172.16.0.1' }
                   else
                     { 'platform' => 'linux', 'jails_dir' => '/srv/jails', 'interface' => 'lo',
                       'network' => '127.16.0.0/16', 'host_address' => '127.16.0.1', 'nginx_prefix' => '/srv/nginx' }
                   end
        platform.merge(
          'zfs_root' => 'zroot/jails',
          'freebsd_release' => '14.1-RELEASE',
          'nginx_listen' => '127.0.0.1',
          'nginx_port' => 8080,
          'services' => { 'shop' => { 'live' => '172.31.255.254', 'test' => '172.31.255.253' } },
          'nat_table' => 'jails_spec',
          'apps' => {
            'shop' => {
              'domains' => ['shop.example.com'],
              'test_domain' => 'shop.test.example.com',
              'source' => 'https://git.example.com/shop.git',
              'command' => ['/usr/local/bin/python3', 'app.py'],
              'port' => 8080,
              'test' => jail,
              'live' => jail,
            },
          },
          'jails' => {
            jail => { 'ensure' => 'running', 'app' => 'shop', 'revision' => '3f2a9c1e0b1a' + '0' * 28, 'address' => address },
          },
        )
      end
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

      it { is_expected.to compile.with_all_deps }
      it { is_expected.to contain_class("#{mod}::template") }
      it { is_expected.to contain_class("#{mod}::nginx") }
      it { is_expected.to contain_class("#{mod}::nat") }

      it 'puts the release into a running jail with its own address' do
        expected = { ensure: 'running', address: address, hostname: jail }
        expected[:dataset] = "zroot/jails/containers/#{jail}" if freebsd
        is_expected.to contain_jail(jail).with(expected)
        is_expected.to send("contain_#{mod}__release", jail).that_requires("Jail[#{jail}]")
      end

      it "routes both domains through the platform's NGINX and NAT files" do
        is_expected.to contain_file(nginx_conf).with_content(/server_name shop\.example\.com;/)
        is_expected.to contain_file(nginx_conf).with_content(/server_name shop\.test\.example\.com;/)
        rule = freebsd ? "to 172.31.255.254 port 8080 -> #{address} port 8080" : "ip daddr 172.31.255.254 tcp dport 8080 dnat to #{address}:8080"
        is_expected.to contain_file(nat_conf).with_content(/#{Regexp.escape(rule)}/)
      end
    end
  end
end
