# frozen_string_literal: true

# rspec-puppet 2.9 set-up for the jails module inside the control repo
# jailgen renders: the module is site-modules/jails, so the modules are its
# parent directory and the control repo (hiera.yaml, data/, manifests/site.pp)
# is two levels up. Host specs compile the real site.pp with the real Hiera data.

require 'json'
require 'rspec-puppet'
require 'rspec-puppet-facts'
require 'yaml'

# Facts come from facterdb, through rspec-puppet-facts, for the operating
# systems in metadata.json. Debian's facterdb package (1.12.1) has no facts for
# FreeBSD 14 or Debian 12, so spec/facts holds one set for each, in facterdb's
# format and for the Facter the specs run with, on facterdb's search path. A missing
# set is an error (SPEC_FACTS_STRICT), never a fallback to other facts.
ENV['FACTERDB_SEARCH_PATHS'] = File.join(__dir__, 'facts')
ENV['SPEC_FACTS_STRICT'] = 'yes'
include RspecPuppetFacts

# Paths, facts and Hiera data shared by the specs.
module JailgenSpec
  MODULE_NAME = 'jails'
  MODULE_DIR = File.expand_path('..', __dir__)
  CONTROL_REPO = File.expand_path('../..', MODULE_DIR)

  # The operating systems metadata.json supports, for rspec-puppet-facts.
  SUPPORTED_OS = JSON.parse(File.read(File.join(MODULE_DIR, 'metadata.json'))).fetch('operatingsystem_support')

  # rspec-puppet-facts' name of each platform's facts set.
  PLATFORM_OS = { 'freebsd' => 'freebsd-14-amd64', 'linux' => 'debian-12-x86_64' }.freeze

  # pf as the operator leaves it on a FreeBSD host: enabled, pf.conf hooking the module's anchor.
  PF_FACTS = { 'jailgen_pf' => { 'enabled' => true, 'rdr_anchors' => [MODULE_NAME], 'skipped' => ['lo0'] } }.freeze

  # facterdb's facts of every supported operating system, by rspec-puppet-facts' name.
  def self.supported_os_facts
    on_supported_os(supported_os: SUPPORTED_OS)
  end

  # Facts of a FreeBSD 14 host (os 'freebsd') or a Debian 12 host (os 'linux')
  # named certname.
  def self.facts(os, certname)
    hostname, domain = certname.split('.', 2)
    names = { 'hostname' => hostname, 'domain' => domain.to_s, 'fqdn' => certname }
    facts = supported_os_facts.fetch(PLATFORM_OS.fetch(os))
    facts = facts.merge(PF_FACTS) if os == 'freebsd'
    facts.merge(names).merge('networking' => facts.fetch('networking').merge(names))
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
  c.default_facter_version = Facter.version
  c.facterdb_string_keys = true
end

Dir[File.join(__dir__, 'support', '*.rb')].sort.each { |file| require file }
