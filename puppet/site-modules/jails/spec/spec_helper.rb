# frozen_string_literal: true

# rspec-puppet 2.9 set-up for the jails module inside the control repo
# jailgen renders: the module is site-modules/jails, so the modules are its
# parent directory and the control repo (hiera.yaml, data/, manifests/site.pp)
# is two levels up. Host specs compile the real site.pp with the real Hiera data.

require 'rspec-puppet'
require 'yaml'

# Paths, facts and Hiera data shared by the specs.
module JailgenSpec
  MODULE_NAME = 'jails'
  MODULE_DIR = File.expand_path('..', __dir__)
  CONTROL_REPO = File.expand_path('../..', MODULE_DIR)

  PATHS = {
    'freebsd' => '/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin',
    'linux' => '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  }.freeze

  OS_FACTS = {
    'freebsd' => {
      'kernel' => 'FreeBSD',
      'kernelrelease' => '14.1-RELEASE-p5',
      'osfamily' => 'FreeBSD',
      'operatingsystem' => 'FreeBSD',
      'operatingsystemmajrelease' => '14',
      'os' => {
        'name' => 'FreeBSD',
        'family' => 'FreeBSD',
        'hardware' => 'amd64',
        'architecture' => 'amd64',
        'release' => { 'full' => '14.1-RELEASE-p5', 'major' => '14', 'minor' => '1' },
      },
    },
    'linux' => {
      'kernel' => 'Linux',
      'kernelrelease' => '6.1.0-18-amd64',
      'osfamily' => 'Debian',
      'operatingsystem' => 'Debian',
      'operatingsystemmajrelease' => '12',
      'os' => {
        'name' => 'Debian',
        'family' => 'Debian',
        'hardware' => 'x86_64',
        'architecture' => 'amd64',
        'release' => { 'full' => '12.5', 'major' => '12', 'minor' => '5' },
        'distro' => { 'codename' => 'bookworm' },
      },
    },
  }.freeze

  # pf as the operator leaves it on a FreeBSD host: enabled, pf.conf hooking the module's anchor.
  PF_FACTS = { 'jailgen_pf' => { 'enabled' => true, 'rdr_anchors' => [MODULE_NAME] } }.freeze

  # Facts of a FreeBSD 14 host (os 'freebsd') or a Debian 12 host (os 'linux').
  def self.facts(os, certname)
    hostname, domain = certname.split('.', 2)
    OS_FACTS.fetch(os).merge(os == 'freebsd' ? PF_FACTS : {}).merge(
      'path' => PATHS.fetch(os),
      'networking' => { 'hostname' => hostname, 'domain' => domain.to_s, 'fqdn' => certname },
    )
  end

  def self.read_yaml(*path)
    file = File.join(CONTROL_REPO, 'data', *path)
    File.exist?(file) ? (YAML.safe_load(File.read(file)) || {}) : {}
  end

  # What Hiera gives the module on this node, key by key: the node's file over common.yaml.
  def self.hiera_data(certname)
    read_yaml('common.yaml').merge(read_yaml('nodes', "#{certname}.yaml"))
  end

  def self.lookup(data, key, default = nil)
    data.fetch("#{MODULE_NAME}::#{key}", default)
  end
end

$LOAD_PATH.unshift(File.join(JailgenSpec::MODULE_DIR, 'lib'))

RSpec.configure do |c|
  c.module_path = File.join(JailgenSpec::CONTROL_REPO, 'site-modules')
  c.manifest = File.join(JailgenSpec::CONTROL_REPO, 'manifests', 'site.pp')
  c.hiera_config = File.join(JailgenSpec::CONTROL_REPO, 'hiera.yaml')
  # The module lives in a control repo: no spec/fixtures tree to build.
  c.setup_fixtures = false
  c.strict_variables = true
  c.mock_with :rspec
end

Dir[File.join(__dir__, 'support', '*.rb')].sort.each { |file| require file }
