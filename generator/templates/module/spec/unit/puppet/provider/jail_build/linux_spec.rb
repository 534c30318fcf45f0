# frozen_string_literal: true

require 'spec_helper'
require 'tmpdir'

describe Puppet::Type.type(:jail_build).provider(:linux) do
  let(:name) { 'hello_9d8c7b6a5f4e' }
  let(:jails_dir) { Dir.mktmpdir('jails') }
  let(:path) { File.join(jails_dir, 'containers', name) }
  let(:commands) { [['sh', '-c', 'echo one; echo two >&2'], ['sh', '-c', 'id -u']] }
  let(:resource) do
    Puppet::Type.type(:jail_build).new(
      name: name, app: 'hello', revision: '9d8c7b6a5f4e' + '0' * 28, path: path,
      directory: '/usr/local/hello', commands: commands, environment: { 'PORT' => 8000 },
      provider: :linux
    )
  end
  let(:provider) { resource.provider }

  after(:each) { FileUtils.rm_rf(jails_dir) }

  it 'runs a command in a sandbox of the jail root that shares the network, as the user, in the checkout' do
    expect(described_class.build_command(name, path, '/usr/local/hello', { 'PORT' => '8000' }, 80, 80, ['npm', 'ci'])).to eq(
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
        '--die-with-parent',
        '--clearenv',
        '--setenv', 'HOME', '/usr/local/hello',
        '--setenv', 'PATH', '/usr/local/bin:/usr/bin:/usr/sbin:/bin:/sbin',
        '--setenv', 'PORT', '8000',
        '--chdir', '/usr/local/hello',
        '--', '/usr/bin/setpriv', '--reuid=80', '--regid=80', '--clear-groups', '--',
        'npm', 'ci'
      ],
    )
  end

  it "finds the user in the jail's passwd file" do
    passwd = "root:x:0:0:root:/root:/bin/sh\nwww:x:80:80:World Wide Web Owner:/nonexistent:/usr/sbin/nologin\n"
    expect(described_class.lookup(passwd, 'www')).to eq([80, 80])
    expect(described_class.lookup(passwd, 'nobody')).to be_nil
  end

  context 'with the commands run on this machine' do
    before(:each) do
      FileUtils.mkdir_p(File.join(path, 'usr', 'local', 'hello'))
      allow(provider).to receive(:owner).and_return([Process.uid, Process.gid])
      allow(provider).to receive(:command_for) { |argv| argv }
    end

    it 'logs every command and its output, and writes the marker only after the last succeeds' do
      expect(provider.built?).to be(false)
      provider.build
      log = File.read(File.join(path, 'var', 'log', 'hello-build.log'))
      expect(log).to match(%r{\A# jailgen: build of hello at 9d8c7b6a5f4e0+ in #{name}, \S+Z\n})
      expect(log.lines.drop(1).join).to eq(
        "$ [\"sh\",\"-c\",\"echo one; echo two >&2\"]\none\ntwo\n$ [\"sh\",\"-c\",\"id -u\"]\n#{Process.uid}\n# jailgen: built\n",
      )
      expect(provider.built?).to be(true)
    end

    context 'when a command fails' do
      let(:commands) { [['sh', '-c', 'seq 1 30; exit 4'], ['touch', 'never']] }

      it 'fails with the command, its status and its last 20 lines, runs no further command and writes no marker' do
        expect { provider.build }.to raise_error(
          Puppet::Error,
          "build command [\"sh\",\"-c\",\"seq 1 30; exit 4\"] exited 4; its last output (all of it in " \
          "/var/log/hello-build.log in the jail):\n#{(11..30).to_a.join("\n")}",
        )
        expect(provider.built?).to be(false)
        expect(File.exist?(File.join(path, 'usr', 'local', 'hello', 'never'))).to be(false)
      end
    end

    context 'when a command runs out of time' do
      let(:commands) { [['sleep', '30']] }

      it 'kills it and fails' do
        resource[:timeout] = 1
        expect { provider.build }.to raise_error(Puppet::Error, /\Abuild command \["sleep","30"\] took more than 1 s and was killed;/)
      end
    end

    it 'builds again when the commands change' do
      provider.build
      resource[:commands] = [['true']]
      expect(provider.built?).to be(false)
    end
  end
end
