# frozen_string_literal: true

require 'spec_helper'

describe Puppet::Type.type(:jail) do
  let(:name) { 'shop_3f2a9c1e0b1a' }
  let(:valid) do
    {
      name: name,
      ensure: 'running',
      address: '172.16.0.2',
      interface: 'lo1',
      template: 'zroot/jails/templates/14.1-RELEASE@base',
      dataset: "zroot/jails/containers/#{name}",
      path: "/usr/local/jails/containers/#{name}",
      provider: :freebsd,
    }
  end

  def jail(overrides = {})
    described_class.new(valid.merge(overrides))
  end

  it 'accepts a complete jail' do
    expect(jail[:address]).to eq('172.16.0.2')
    expect(jail[:ensure]).to eq(:running)
  end

  it "defaults the host name to the jail's name" do
    expect(jail[:hostname]).to eq(name)
  end

  it 'defaults parameters to none' do
    expect(jail[:parameters]).to eq({})
  end

  it 'accepts a template directory (Linux)' do
    expect(jail(template: '/var/lib/jailgen/templates/base')[:template]).to eq('/var/lib/jailgen/templates/base')
  end

  %w[present running stopped absent].each do |value|
    it "accepts ensure => #{value}" do
      expect(jail(ensure: value)[:ensure]).to eq(value.to_sym)
    end
  end

  it 'rejects other ensure values' do
    expect { jail(ensure: 'started') }.to raise_error(Puppet::ResourceError, /Invalid value "started"/)
  end

  describe 'name' do
    %w[shop_3f2a9c1e0b1a a blog2_000000000000 a_b_c].each do |good|
      it "accepts #{good.inspect}" do
        expect(jail(name: good, dataset: "zroot/jails/containers/#{good}")[:name]).to eq(good)
      end
    end

    ['Shop_3f2a9c1e0b1a', '1shop', '_shop', 'shop.3f2a', 'shop-3f2a', 'shop 3f2a', "shop\n", '', 'a' * 64,
     '../etc', 'shop;reboot', 'shop"', 'shop{'].each do |bad|
      it "rejects #{bad.inspect}" do
        expect { jail(name: bad) }.to raise_error(Puppet::ResourceError, /invalid jail name/)
      end
    end
  end

  describe 'address' do
    %w[172.16.0.2 127.16.0.2 10.0.0.255 0.0.0.0].each do |good|
      it "accepts #{good}" do
        expect(jail(address: good)[:address]).to eq(good)
      end
    end

    ['256.1.1.1', '172.16.0', '172.16.0.2/12', '172.16.00.2', '::1', 'localhost', "172.16.0.2\n", '172.16.0.2;',
     ' 172.16.0.2', ''].each do |bad|
      it "rejects #{bad.inspect}" do
        expect { jail(address: bad) }.to raise_error(Puppet::ResourceError, /invalid IPv4 address/)
      end
    end
  end

  describe 'interface, template, dataset, path and hostname' do
    {
      interface: ['lo 1', 'lo1;', 'LO1', "lo1\n", 'a' * 16],
      template: ['zroot/jails/templates/14.1-RELEASE', 'relative/dir', '/a/../b', 'zroot/x@', '@base', 'zroot//x@base',
                 'zroot/x@base;rm'],
      dataset: ['zroot/x@snap', '/zroot/x', 'zroot//x', 'zroot/x/', 'zroot/../x', '-zroot/x', 'zroot/x y'],
      path: ['relative', '/a/../b', '/a/./b', '/a b', '/a;b', '/', "/a\nb", '/a"b'],
      hostname: ['-shop', 'shop-', 'shop..example', 'shop example', 'shop;', "shop\n"],
    }.each do |attribute, bad_values|
      bad_values.each do |bad|
        it "rejects #{attribute} #{bad.inspect}" do
          expect { jail(attribute => bad) }.to raise_error(Puppet::ResourceError, /invalid/)
        end
      end
    end
  end

  describe 'parameters' do
    it 'accepts boolean, integer and plain string values, in canonical form' do
      resource = jail(parameters: { 'allow.raw_sockets' => true, 'devfs_ruleset' => 4, 'allow.mount' => 'false',
                                    'osrelease' => '14.1-RELEASE', 'ip6' => 'disable' })
      expect(resource[:parameters]).to eq(
        'allow.mount' => false,
        'allow.raw_sockets' => true,
        'devfs_ruleset' => 4,
        'ip6' => 'disable',
        'osrelease' => '14.1-RELEASE',
      )
    end

    ['allow raw_sockets', 'Allow.mount', 'allow..mount', '.allow', 'allow.', 'allow;', 'allow{', "allow\n", '1allow',
     ''].each do |bad|
      it "rejects the name #{bad.inspect}" do
        expect { jail(parameters: { bad => true }) }.to raise_error(Puppet::ResourceError, /invalid jail parameter name/)
      end
    end

    # jail(8) treats X and noX as one parameter, so exec.noclean is exec.clean.
    %w[path host.hostname ip4.addr interface exec.start exec.stop exec.consolelog exec.clean exec.noclean mount.devfs
       mount.nodevfs name jid].each do |reserved|
      it "rejects #{reserved}, which the type sets itself" do
        expect { jail(parameters: { reserved => 'x' }) }.to raise_error(
          Puppet::ResourceError, /jail parameter #{Regexp.escape(reserved)} is set by jailgen/
        )
      end
    end

    {
      'exec.prestart' => /runs commands/, 'command' => /runs commands/, 'mount.fstab' => /runs commands/,
      'vnet' => /changes the jail's network/, 'ip4' => /changes the jail's network/,
      'children.cur' => /is read-only/, 'dying' => /is read-only/
    }.each do |refused, message|
      it "rejects #{refused}" do
        expect { jail(parameters: { refused => 'x' }) }.to raise_error(Puppet::ResourceError, message)
      end
    end

    it 'rejects a name jail(8) does not know' do
      expect { jail(parameters: { 'allow.bogus' => true }) }.to raise_error(
        Puppet::ResourceError, /unknown jail parameter allow.bogus: not a FreeBSD 14 jail\(8\) parameter/
      )
    end

    it 'rejects the no form of a boolean, in favour of false' do
      expect { jail(parameters: { 'allow.noraw_sockets' => true }) }.to raise_error(
        Puppet::ResourceError, /allow.noraw_sockets is allow.raw_sockets negated: give allow.raw_sockets => false/
      )
    end

    {
      ['allow.raw_sockets', 'yes'] => /expected true or false/,
      ['allow.raw_sockets', 'on'] => /expected true or false/,
      ['allow.raw_sockets', 1] => /expected true or false/,
      ['devfs_ruleset', false] => /expected an integer/,
      ['devfs_ruleset', '4'] => /expected an integer/,
      ['securelevel', 4] => /expected -1 to 3/,
      ['enforce_statfs', -1] => /expected 0 to 2/,
      ['ip6', 'maybe'] => /expected one of disable, new, inherit/,
      ['osrelease', 14] => /only letters, digits/,
    }.each do |(name, bad), message|
      it "rejects #{bad.inspect} for #{name}" do
        expect { jail(parameters: { name => bad }) }.to raise_error(Puppet::ResourceError, message)
      end
    end

    ['a;b', 'x"y', "a\nb", 'a\\b', '${name}', '$HOME', 'a{b', 'a}b', '# c', "a\tb", 'a b'].each do |bad|
      it "rejects the value #{bad.inspect}" do
        expect { jail(parameters: { 'osrelease' => bad }) }.to raise_error(Puppet::ResourceError, /invalid value/)
      end
    end

    [nil, 1.5, ['a'], { 'a' => 1 }].each do |bad|
      it "rejects the value #{bad.inspect}" do
        expect { jail(parameters: { 'devfs_ruleset' => bad }) }.to raise_error(Puppet::ResourceError, /invalid value/)
      end
    end

    it 'rejects something that is not a hash' do
      expect { jail(parameters: 'allow.raw_sockets') }.to raise_error(Puppet::ResourceError, /must be a hash/)
    end
  end

  describe 'required attributes' do
    [:address, :template, :path].each do |attribute|
      it "requires #{attribute} unless ensure is absent" do
        expect { described_class.new(valid.reject { |key, _| key == attribute }) }
          .to raise_error(Puppet::ResourceError, /#{attribute} must be set unless ensure is absent/)
      end
    end

    it 'needs only the name to remove a jail' do
      expect(described_class.new(name: name, ensure: 'absent', provider: :freebsd)[:ensure]).to eq(:absent)
    end
  end

  describe 'ensure' do
    let(:resource) { jail(ensure: 'present') }
    let(:property) { resource.property(:ensure) }

    it 'treats a running or a stopped jail as present' do
      expect(property.safe_insync?(:running)).to be(true)
      expect(property.safe_insync?(:stopped)).to be(true)
      expect(property.safe_insync?(:absent)).to be(false)
      expect(property.safe_insync?(:incomplete)).to be(false)
    end
  end

  describe 'refresh' do
    let(:resource) { jail }
    let(:provider) { resource.provider }

    it 'restarts a running jail' do
      allow(provider).to receive(:status).and_return(:running)
      expect(provider).to receive(:restart)
      resource.refresh
    end

    it 'leaves a stopped jail alone' do
      allow(provider).to receive(:status).and_return(:stopped)
      expect(provider).not_to receive(:restart)
      resource.refresh
    end

    it 'leaves a jail that should be stopped alone' do
      resource = jail(ensure: 'stopped')
      allow(resource.provider).to receive(:status).and_return(:running)
      expect(resource.provider).not_to receive(:restart)
      resource.refresh
    end
  end

  it "autorequires the jail's parent directory and /etc/jail.conf.d" do
    catalog = Puppet::Resource::Catalog.new
    parent = Puppet::Type.type(:file).new(path: '/usr/local/jails/containers', ensure: :directory)
    conf_dir = Puppet::Type.type(:file).new(path: '/etc/jail.conf.d', ensure: :directory)
    resource = jail
    [parent, conf_dir, resource].each { |r| catalog.add_resource(r) }
    sources = resource.autorequire.map { |edge| edge.source.ref }
    expect(sources).to contain_exactly('File[/usr/local/jails/containers]', 'File[/etc/jail.conf.d]')
  end
end
