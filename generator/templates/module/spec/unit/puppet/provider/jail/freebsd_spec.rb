# frozen_string_literal: true

require 'spec_helper'
require 'tmpdir'

describe Puppet::Type.type(:jail).provider(:freebsd) do
  let(:name) { 'shop_3f2a9c1e0b1a' }
  let(:dataset) { "zroot/jails/containers/#{name}" }
  let(:path) { "/usr/local/jails/containers/#{name}" }
  let(:template) { 'zroot/jails/templates/14.1-RELEASE@base' }
  let(:conf_dir) { Dir.mktmpdir('jail.conf.d') }
  let(:conf_file) { File.join(conf_dir, "#{name}.conf") }
  let(:parameters) { { 'allow.raw_sockets' => true } }
  let(:resource) do
    Puppet::Type.type(:jail).new(
      name: name,
      ensure: 'running',
      address: '172.16.0.2',
      interface: 'lo1',
      template: template,
      dataset: dataset,
      path: path,
      parameters: parameters,
      provider: :freebsd,
    )
  end

  # What the system looks like before the run: running jails, dying jails
  # (with how many more `jls -d` listings still show each), datasets, and the
  # host's rc.conf boot settings (which the sysrc commands change).
  let(:running) { [] }
  let(:dying) { {} }
  let(:rc_conf) { { 'jail_enable' => 'NO', 'jail_list' => '' } }
  let(:datasets) { { 'zroot/jails' => '/usr/local/jails', 'zroot/jails/containers' => '/usr/local/jails/containers' } }
  # Every command the provider runs, in order; and those with the listings of
  # dying jails, the pauses between them and removed files.
  let(:commands) { [] }
  let(:order) { [] }

  let(:expected_conf) do
    <<~CONF
      # Managed by Puppet (jailgen). Local changes are overwritten.
      shop_3f2a9c1e0b1a {
      \texec.start = "/bin/sh /etc/rc";
      \texec.stop = "/bin/sh /etc/rc.shutdown";
      \texec.consolelog = "/var/log/jail_console_${name}.log";
      \texec.clean;
      \tmount.devfs;
      \thost.hostname = "${name}";
      \tpath = "/usr/local/jails/containers/shop_3f2a9c1e0b1a";
      \tinterface = lo1;
      \tip4.addr = 172.16.0.2;
      \tallow.raw_sockets;
      }
    CONF
  end

  before(:each) do
    allow(described_class).to receive(:conf_dir).and_return(conf_dir)
    allow(described_class).to receive(:query).with(['/usr/sbin/jls', '-q', 'name']) { running.map { |n| "#{n}\n" }.join }
    allow(described_class).to receive(:query)
      .with(['/sbin/zfs', 'list', '-H', '-p', '-o', 'name,mountpoint', '-t', 'filesystem']) do
      datasets.map { |ds, mountpoint| "#{ds}\t#{mountpoint}\n" }.join
    end
    allow(described_class).to receive(:query).with(['/usr/sbin/jls', '-d', '-q', 'name']) do |argv|
      order << argv
      still = dying.select { |_, listings| listings.positive? }.keys
      dying.transform_values! { |listings| listings - 1 }
      (running + still).map { |n| "#{n}\n" }.join
    end
    allow(described_class).to receive(:query).with(['/usr/sbin/sysrc', '-n', 'jail_enable', 'jail_list']) do
      "#{rc_conf['jail_enable']}\n#{rc_conf['jail_list']}\n"
    end
    allow(described_class).to receive(:pause) { |seconds| order << [:pause, seconds] }
    allow(FileUtils).to receive(:rm_f).and_wrap_original do |original, file|
      order << [:rm, file]
      original.call(file)
    end
    allow(described_class).to receive(:run) do |argv|
      commands << argv
      order << argv
      simulate(argv)
      ''
    end
  end

  # What the commands do to the state the queries report.
  def simulate(argv)
    if argv[0] == '/usr/sbin/sysrc'
      variable, value = argv[1].split('=', 2)
      rc_conf[variable] = value
    elsif argv == onestart
      running << name
    elsif argv == onestop
      running.delete(name)
    end
  end

  def onestart
    ['/usr/sbin/service', 'jail', 'onestart', name]
  end

  def onestop
    ['/usr/sbin/service', 'jail', 'onestop', name]
  end

  def listed
    [['/usr/sbin/sysrc', "jail_list=#{name}"], ['/usr/sbin/sysrc', 'jail_enable=YES']]
  end

  def unlisted
    [['/usr/sbin/sysrc', 'jail_list='], ['/usr/sbin/sysrc', 'jail_enable=NO']]
  end

  after(:each) do
    FileUtils.rm_rf(conf_dir)
  end

  # Prefetch as Puppet does, then sync ensure as the transaction would.
  def converge(ensure_value)
    described_class.prefetch(name => resource)
    property = resource.property(:ensure)
    property.should = ensure_value
    property.sync unless property.safe_insync?(property.retrieve)
    resource.provider
  end

  def existing_jail(state)
    datasets[dataset] = path
    if state == :running
      running << name
      rc_conf.update('jail_enable' => 'YES', 'jail_list' => name)
    end
    File.write(conf_file, expected_conf)
  end

  it 'runs commands as argument vectors, never through a shell' do
    argv = onestart
    allow(described_class).to receive(:run).and_call_original
    expect(described_class).to receive(:execute).with(argv, failonfail: true, combine: true).and_return('')
    described_class.run(argv)
  end

  describe 'prefetch' do
    it 'lists jails once per run, however many resources there are' do
      other = Puppet::Type.type(:jail).new(name: 'blog_aaaaaaaaaaaa', ensure: 'absent', provider: :freebsd)
      described_class.prefetch(name => resource, 'blog_aaaaaaaaaaaa' => other)
      expect(described_class).to have_received(:query).with(['/usr/sbin/jls', '-q', 'name']).once
      expect(described_class).to have_received(:query).with(['/sbin/zfs', 'list', '-H', '-p', '-o', 'name,mountpoint', '-t', 'filesystem']).once
      expect(described_class).to have_received(:query).with(['/usr/sbin/sysrc', '-n', 'jail_enable', 'jail_list']).once
      expect(commands).to be_empty
    end

    it 'finds running, stopped, incomplete and absent jails' do
      running << name
      File.write(conf_file, expected_conf)
      File.write(File.join(conf_dir, 'blog_aaaaaaaaaaaa.conf'), expected_conf.gsub(name, 'blog_aaaaaaaaaaaa'))
      datasets['zroot/jails/containers/blog_aaaaaaaaaaaa'] = '/usr/local/jails/containers/blog_aaaaaaaaaaaa'
      datasets['zroot/jails/containers/wiki_bbbbbbbbbbbb'] = '/usr/local/jails/containers/wiki_bbbbbbbbbbbb'
      resources = {
        name => resource,
        'blog_aaaaaaaaaaaa' => Puppet::Type.type(:jail).new(name: 'blog_aaaaaaaaaaaa', ensure: 'absent',
                                                            dataset: 'zroot/jails/containers/blog_aaaaaaaaaaaa'),
        'wiki_bbbbbbbbbbbb' => Puppet::Type.type(:jail).new(name: 'wiki_bbbbbbbbbbbb', ensure: 'absent',
                                                            dataset: 'zroot/jails/containers/wiki_bbbbbbbbbbbb'),
        'docs_cccccccccccc' => Puppet::Type.type(:jail).new(name: 'docs_cccccccccccc', ensure: 'absent',
                                                            dataset: 'zroot/jails/containers/docs_cccccccccccc'),
      }
      described_class.prefetch(resources)
      expect(resources.transform_values { |r| r.provider.status }).to eq(
        name => :running,
        'blog_aaaaaaaaaaaa' => :stopped,
        'wiki_bbbbbbbbbbbb' => :incomplete,
        'docs_cccccccccccc' => :absent,
      )
    end

    it 'reads the configuration back into properties' do
      datasets[dataset] = path
      File.write(conf_file, expected_conf)
      instance = described_class.instances.find { |provider| provider.name == name }
      expect(instance.get(:ensure)).to eq(:stopped)
      expect(instance.address).to eq('172.16.0.2')
      expect(instance.interface).to eq('lo1')
      expect(instance.hostname).to eq(name)
      expect(instance.path).to eq(path)
      expect(instance.dataset).to eq(dataset)
      expect(instance.parameters).to eq('allow.raw_sockets' => true)
    end
  end

  describe 'create and start (ensure => running)' do
    it 'clones the template, writes the configuration, starts the jail and lists it to start at boot' do
      provider = converge(:running)
      expect(commands).to eq(
        [
          ['/sbin/zfs', 'clone', '-o', "mountpoint=#{path}", template, dataset],
          onestart,
          ['/usr/sbin/jls', '-j', name, 'jid'],
        ] + listed,
      )
      expect(File.read(conf_file)).to eq(expected_conf)
      expect(format('%o', File.stat(conf_file).mode & 0o777)).to eq('644')
      expect(provider.status).to eq(:running)
    end

    it 'does not clone again when an interrupted run left the dataset behind' do
      datasets[dataset] = path
      converge(:running)
      expect(commands).to eq([onestart, ['/usr/sbin/jls', '-j', name, 'jid']] + listed)
      expect(File.read(conf_file)).to eq(expected_conf)
    end

    it 'creates without starting for ensure => present' do
      converge(:present)
      expect(commands).to eq([['/sbin/zfs', 'clone', '-o', "mountpoint=#{path}", template, dataset]])
      expect(File.read(conf_file)).to eq(expected_conf)
    end

    it 'starts a stopped jail' do
      existing_jail(:stopped)
      converge(:running)
      expect(commands).to eq([onestart, ['/usr/sbin/jls', '-j', name, 'jid']] + listed)
    end

    it 'adds the jail to the other jails that start at boot, in sorted order' do
      rc_conf.update('jail_enable' => 'YES', 'jail_list' => 'wiki_bbbbbbbbbbbb blog_aaaaaaaaaaaa')
      converge(:running)
      expect(commands.last(1)).to eq([['/usr/sbin/sysrc', "jail_list=blog_aaaaaaaaaaaa #{name} wiki_bbbbbbbbbbbb"]])
    end

    it 'does nothing to a running jail that starts at boot' do
      existing_jail(:running)
      converge(:running)
      expect(commands).to be_empty
    end

    it 'lists a running jail that would not start at boot, without restarting it' do
      existing_jail(:running)
      rc_conf.update('jail_enable' => 'NO', 'jail_list' => '')
      converge(:running)
      expect(commands).to eq(listed)
    end

    it 'enables rc.d/jail for a listed running jail when jail_enable is NO' do
      existing_jail(:running)
      rc_conf['jail_enable'] = 'NO'
      converge(:running)
      expect(commands).to eq([['/usr/sbin/sysrc', 'jail_enable=YES']])
    end

    it 'unlists a listed jail that did not come up' do
      existing_jail(:stopped)
      rc_conf.update('jail_enable' => 'YES', 'jail_list' => name)
      allow(described_class).to receive(:run).with(['/usr/sbin/jls', '-j', name, 'jid'])
                                             .and_raise(Puppet::ExecutionFailure, 'jls: jail "x" not found')
      expect { converge(:running) }.to raise_error(Puppet::Error, /did not start/)
      expect(rc_conf).to eq('jail_enable' => 'NO', 'jail_list' => '')
    end

    it 'does not list a jail that did not come up' do
      allow(described_class).to receive(:run).with(['/usr/sbin/jls', '-j', name, 'jid'])
                                             .and_raise(Puppet::ExecutionFailure, 'jls: jail "x" not found')
      expect { converge(:running) }.to raise_error(Puppet::Error)
      expect(rc_conf).to eq('jail_enable' => 'NO', 'jail_list' => '')
    end

    it 'fails clearly when the jail does not come up' do
      allow(described_class).to receive(:run).with(['/usr/sbin/jls', '-j', name, 'jid'])
                                             .and_raise(Puppet::ExecutionFailure, 'jls: jail "x" not found')
      expect { converge(:running) }.to raise_error(Puppet::Error, /jail #{name} did not start/)
    end

    it "says why, in rc.d/jail's words, when the jail does not come up" do
      said = "Starting jails: cannot start jail  \"#{name}\": \n" \
             "jail: #{name}: mount.devfs: #{path}/dev: No such file or directory\n.\n"
      allow(described_class).to receive(:run).with(onestart).and_return(said)
      allow(described_class).to receive(:run).with(['/usr/sbin/jls', '-j', name, 'jid'])
                                             .and_raise(Puppet::ExecutionFailure, "jls: jail \"#{name}\" not found")
      expect { converge(:running) }.to raise_error(
        Puppet::Error,
        "jail #{name} did not start (service jail said: Starting jails: cannot start jail  \"#{name}\": " \
        "jail: #{name}: mount.devfs: #{path}/dev: No such file or directory .); " \
        "see /var/log/jail_console_#{name}.log",
      )
    end

    it 'needs a ZFS snapshot as template' do
      resource[:template] = '/var/lib/jailgen/templates/base'
      expect { converge(:running) }.to raise_error(Puppet::Error, /needs a ZFS snapshot as template/)
      expect(commands).to be_empty
    end
  end

  describe 'stop (ensure => stopped)' do
    it 'takes a running jail out of jail_list, then stops it' do
      existing_jail(:running)
      provider = converge(:stopped)
      expect(commands).to eq(unlisted + [onestop])
      expect(provider.status).to eq(:stopped)
    end

    it 'keeps jail_enable YES while other jails start at boot' do
      existing_jail(:running)
      rc_conf['jail_list'] = "blog_aaaaaaaaaaaa #{name}"
      converge(:stopped)
      expect(commands).to eq([['/usr/sbin/sysrc', 'jail_list=blog_aaaaaaaaaaaa'], onestop])
    end

    it 'takes a stopped jail out of jail_list, so that it does not start at boot' do
      existing_jail(:stopped)
      rc_conf.update('jail_enable' => 'YES', 'jail_list' => name)
      converge(:stopped)
      expect(commands).to eq(unlisted)
    end

    it 'does nothing to a stopped jail that is not listed' do
      existing_jail(:stopped)
      converge(:stopped)
      expect(commands).to be_empty
    end

    it 'creates a missing jail without starting it' do
      converge(:stopped)
      expect(commands).to eq([['/sbin/zfs', 'clone', '-o', "mountpoint=#{path}", template, dataset]])
    end
  end

  describe 'destroy (ensure => absent)' do
    it 'stops the jail, removes its configuration, then destroys its dataset' do
      existing_jail(:running)
      provider = converge(:absent)
      expect(commands).to eq(unlisted + [onestop, ['/sbin/zfs', 'destroy', dataset]])
      expect(order).to eq(unlisted + [onestop, [:rm, conf_file], ['/usr/sbin/jls', '-d', '-q', 'name'], ['/sbin/zfs', 'destroy', dataset]])
      expect(File.exist?(conf_file)).to be(false)
      expect(provider.status).to eq(:absent)
    end

    it 'does not stop a stopped jail' do
      existing_jail(:stopped)
      converge(:absent)
      expect(commands).to eq([['/sbin/zfs', 'destroy', dataset]])
    end

    it 'waits while the stopped jail is dying before destroying its dataset' do
      existing_jail(:running)
      dying[name] = 3
      converge(:absent)
      jls = ['/usr/sbin/jls', '-d', '-q', 'name']
      expect(order).to eq(
        unlisted + [onestop, [:rm, conf_file], jls, [:pause, 1], jls, [:pause, 1], jls, [:pause, 1], jls,
                    ['/sbin/zfs', 'destroy', dataset]],
      )
    end

    it 'fails naming the jail, and destroys nothing, when the jail stays dying' do
      existing_jail(:stopped)
      dying[name] = 1000
      allow(described_class).to receive(:dying_timeout).and_return(5)
      expect { converge(:absent) }.to raise_error(
        Puppet::Error,
        "jail #{name} is still dying 5 seconds after it was stopped (jls -d lists it), so its dataset #{dataset} " \
        'is busy and was not destroyed; a later run destroys it once the jail is gone',
      )
      expect(described_class).to have_received(:pause).with(1).exactly(4).times
      expect(described_class).to have_received(:query).with(['/usr/sbin/jls', '-d', '-q', 'name']).exactly(6).times
      expect(commands).to be_empty
      expect(File.exist?(conf_file)).to be(false)
    end

    it 'does nothing when the jail is gone' do
      converge(:absent)
      expect(commands).to be_empty
    end
  end

  describe 'refresh' do
    it 'restarts a running jail and checks it came back' do
      existing_jail(:running)
      described_class.prefetch(name => resource)
      resource.refresh
      expect(commands).to eq([['/usr/sbin/service', 'jail', 'onerestart', name], ['/usr/sbin/jls', '-j', name, 'jid']])
    end

    it 'does not start a stopped jail' do
      existing_jail(:stopped)
      described_class.prefetch(name => resource)
      resource.refresh
      expect(commands).to be_empty
    end
  end

  describe 'changed parameters' do
    let(:new_parameters) { { 'allow.raw_sockets' => true, 'devfs_ruleset' => 4 } }

    def change_parameters(state)
      existing_jail(state)
      described_class.prefetch(name => resource)
      resource[:parameters] = new_parameters
      provider = resource.provider
      provider.parameters = resource[:parameters]
      provider.flush
    end

    it 'rewrites the configuration of a stopped jail' do
      change_parameters(:stopped)
      expect(commands).to be_empty
      expect(File.read(conf_file)).to eq(expected_conf.sub("\tallow.raw_sockets;\n", "\tallow.raw_sockets;\n\tdevfs_ruleset = 4;\n"))
    end

    it 'restarts a running jail with the new configuration' do
      change_parameters(:running)
      expect(commands).to eq([['/usr/sbin/service', 'jail', 'onerestart', name], ['/usr/sbin/jls', '-j', name, 'jid']])
      expect(File.read(conf_file)).to include("\tdevfs_ruleset = 4;\n")
    end
  end

  describe '.render_conf' do
    it 'writes every value type in jail.conf(5) syntax' do
      conf = described_class.render_conf(
        name: 'blog_aaaaaaaaaaaa', path: '/jails/blog_aaaaaaaaaaaa', address: '10.0.0.3', interface: nil,
        hostname: 'blog.example.com',
        parameters: { 'allow.mount' => false, 'devfs_ruleset' => 4, 'osrelease' => '14.1-RELEASE', 'allow.chflags' => true,
                      'ip6' => 'disable' }
      )
      expect(conf).to eq(<<~CONF)
        # Managed by Puppet (jailgen). Local changes are overwritten.
        blog_aaaaaaaaaaaa {
        \texec.start = "/bin/sh /etc/rc";
        \texec.stop = "/bin/sh /etc/rc.shutdown";
        \texec.consolelog = "/var/log/jail_console_${name}.log";
        \texec.clean;
        \tmount.devfs;
        \thost.hostname = "blog.example.com";
        \tpath = "/jails/blog_aaaaaaaaaaaa";
        \tip4.addr = 10.0.0.3;
        \tallow.chflags;
        \tallow.mount = "false";
        \tdevfs_ruleset = 4;
        \tip6 = "disable";
        \tosrelease = "14.1-RELEASE";
        }
      CONF
    end

    it 'reads back what it writes' do
      parameters = { 'allow.chflags' => true, 'allow.mount' => false, 'devfs_ruleset' => 4, 'osrelease' => '14.1-RELEASE' }
      conf = described_class.render_conf(name: 'blog_aaaaaaaaaaaa', path: '/jails/b', address: '10.0.0.3',
                                         interface: 'lo1', hostname: 'blog_aaaaaaaaaaaa', parameters: parameters)
      expect(described_class.parse_conf('blog_aaaaaaaaaaaa', conf)).to eq(
        parameters: parameters, address: '10.0.0.3', interface: 'lo1', hostname: 'blog_aaaaaaaaaaaa', path: '/jails/b',
      )
    end
  end
end
