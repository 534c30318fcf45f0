# frozen_string_literal: true

require_relative '../../../puppet_x/jailgen/build'

Puppet::Type.type(:jail_build).provide(:linux) do
  desc <<~DOC
    Builds a release in a bubblewrap sandbox made like the jail's own (its root
    is `/`, the host's `/usr` read-only, its own pid, IPC and UTS namespaces),
    except that it shares the host's network, as the app's user from the jail's
    `/etc/passwd` (through setpriv), in the checkout, with only the given
    environment.
  DOC

  include PuppetX::Jailgen::Build

  confine kernel: 'Linux'
  defaultfor kernel: 'Linux'

  def self.path_in_jail
    '/usr/local/bin:/usr/bin:/usr/sbin:/bin:/sbin'
  end

  def self.binaries
    { bwrap: '/usr/bin/bwrap', setpriv: '/usr/bin/setpriv' }
  end

  # The user's uid and gid in a passwd(5) file's text, or nil.
  def self.lookup(passwd, user)
    passwd.each_line do |line|
      fields = line.chomp.split(':')
      return [Integer(fields[2]), Integer(fields[3])] if fields[0] == user && fields.length >= 4
    end
    nil
  end

  # --- Command builder: pure, one argv. ---

  def self.build_command(name, path, directory, environment, uid, gid, argv)
    variables = { 'PATH' => path_in_jail, 'HOME' => directory }.merge(environment)
    [
      binaries[:bwrap],
      '--unshare-pid', '--unshare-ipc', '--unshare-uts',
      '--hostname', name,
      '--bind', path, '/',
      '--ro-bind', '/usr', '/usr',
      '--bind', File.join(path, 'usr', 'local'), '/usr/local',
      '--ro-bind', '/etc/alternatives', '/etc/alternatives',
      '--proc', '/proc',
      '--dev', '/dev',
      '--die-with-parent',
      '--clearenv',
      *variables.sort.flat_map { |key, value| ['--setenv', key, value] },
      '--chdir', directory,
      '--', binaries[:setpriv], "--reuid=#{uid}", "--regid=#{gid}", '--clear-groups', '--',
      *argv
    ]
  end

  def owner
    passwd = File.join(resource[:path], 'etc', 'passwd')
    found = File.exist?(passwd) && self.class.lookup(File.read(passwd), resource[:user])
    raise Puppet::Error, "jail #{resource[:name]} has no user #{resource[:user]} in /etc/passwd" unless found

    found
  end

  def environment_for
    {}
  end

  def command_for(argv)
    uid, gid = owner
    self.class.build_command(resource[:name], resource[:path], resource[:directory], resource[:environment], uid, gid, argv)
  end
end
