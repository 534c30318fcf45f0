# frozen_string_literal: true

require 'spec_helper'
require 'tmpdir'

describe Puppet::Type.type(:jail).provider(:linux) do
  let(:name) { 'hello_9d8c7b6a5f4e' }
  let(:jails_dir) { Dir.mktmpdir('jails') }
  let(:path) { File.join(jails_dir, 'containers', name) }
  let(:template) { File.join(jails_dir, 'templates', 'base') }
  let(:resource) do
    Puppet::Type.type(:jail).new(
      name: name,
      ensure: 'running',
      address: '127.16.0.2',
      interface: 'lo',
      template: template,
      path: path,
      provider: :linux,
    )
  end

  after(:each) { FileUtils.rm_rf(jails_dir) }

  it 'copies the template directory as an argument vector' do
    expect(described_class.clone_command(template, path)).to eq(
      ['/bin/cp', '-a', '--reflink=auto', '--', template, path],
    )
  end

  it 'runs /etc/rc in a sandbox with its own pid, IPC and UTS namespaces and a read-only /usr' do
    expect(described_class.sandbox_command(name, path, name)).to eq(
      [
        '/usr/bin/bwrap',
        '--unshare-pid', '--unshare-ipc', '--unshare-uts',
        '--hostname', name,
        '--bind', path, '/',
        '--ro-bind', '/usr', '/usr',
        '--bind', "#{path}/usr/local", '/usr/local',
        '--ro-bind', '/etc/alternatives', '/etc/alternatives',
        '--proc', '/proc',
        '--dev', '/dev',
        '--setenv', 'PATH', '/usr/local/bin:/usr/bin:/usr/sbin:/bin:/sbin',
        '--setenv', 'JAIL_NAME', name,
        '--chdir', '/',
        '--', '/bin/sh', '/etc/rc'
      ],
    )
  end

  def run_gated(marker, release)
    gate, opener = IO.pipe
    gate.nonblock = false
    pid = Process.spawn(*described_class.gated_command(['/usr/bin/touch', marker]), 3 => gate, close_others: true)
    gate.close
    opener.write("start\n") if release
    opener.close
    Process.wait(pid)
    File.exist?(marker)
  end

  it 'starts a sandbox only once its pid is recorded: a run killed before that starts nothing' do
    expect(described_class.gated_command(['/usr/bin/bwrap', '--'])).to eq(
      ['/bin/sh', '-c', 'IFS= read -r go <&3 && [ "$go" = start ] && exec 3<&- && exec "$@"', 'jail-gate',
       '/usr/bin/bwrap', '--'],
    )
    expect(run_gated(File.join(jails_dir, 'closed'), false)).to be false
    expect(run_gated(File.join(jails_dir, 'started'), true)).to be true
  end

  it 'keeps runtime state next to the jails' do
    expect(described_class.run_dir(path)).to eq(File.join(jails_dir, 'run'))
  end

  it 'reads a jail that does not exist as absent, and one with a root and settings as stopped' do
    expect(described_class.jail_properties(name, path)[:ensure]).to eq(:absent)
    FileUtils.mkdir_p(File.join(path, 'etc'))
    FileUtils.mkdir_p(described_class.run_dir(path))
    File.write(File.join(described_class.run_dir(path), "#{name}.conf.json"),
               JSON.generate('address' => '127.16.0.2', 'interface' => 'lo', 'hostname' => name, 'parameters' => {}))
    properties = described_class.jail_properties(name, path)
    expect(properties[:ensure]).to eq(:stopped)
    expect(properties[:address]).to eq('127.16.0.2')
  end

  it 'treats a root without recorded settings as incomplete, to be made again' do
    FileUtils.mkdir_p(File.join(path, 'etc'))
    expect(described_class.jail_properties(name, path)[:ensure]).to eq(:incomplete)
  end

  it 'does not count a recorded pid as running unless it is our bwrap for this jail' do
    expect(described_class.alive?('pid' => Process.pid, 'path' => path)).to be(false)
    expect(described_class.alive?(nil)).to be(false)
  end

  it 'refuses a template that is not a directory' do
    provider = described_class.new(name: name, ensure: :absent)
    resource.provider = provider
    expect { provider.create }.to raise_error(Puppet::Error, %r{needs a template directory})
  end
end
