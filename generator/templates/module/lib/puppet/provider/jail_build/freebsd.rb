# frozen_string_literal: true

require 'etc'
require_relative '../../../puppet_x/jailgen/build'

Puppet::Type.type(:jail_build).provide(:freebsd) do
  desc <<~DOC
    Builds a release with chroot(8) into the jail's root: the jail's own
    binaries, the host's network (the jail, whose only address is on the jail
    interface, could not fetch dependencies), as the app's user (chroot's -u
    and -g, looked up in the host's passwd database, where `www` is a base
    user), in the checkout, with only the given environment. A fixed sh(1)
    script changes to the checkout and runs the command from its arguments.
  DOC

  include PuppetX::Jailgen::Build

  confine kernel: 'FreeBSD'
  defaultfor kernel: 'FreeBSD'

  def self.path_in_jail
    '/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin'
  end

  # Catalog values are its arguments, never part of the script.
  def self.in_directory
    'cd "$1" || exit 1; shift; exec "$@"'
  end

  def self.binaries
    { chroot: '/usr/sbin/chroot' }
  end

  # --- Command builders: pure. ---

  def self.build_command(path, directory, user, argv)
    [binaries[:chroot], '-u', user, '-g', user, path, '/bin/sh', '-c', in_directory, 'jailgen-build', directory, *argv]
  end

  def self.build_environment(directory, environment)
    { 'PATH' => path_in_jail, 'HOME' => directory }.merge(environment)
  end

  def owner
    entry = Etc.getpwnam(resource[:user])
    [entry.uid, entry.gid]
  rescue ArgumentError
    raise Puppet::Error, "there is no user #{resource[:user]} on this host"
  end

  def environment_for
    self.class.build_environment(resource[:directory], resource[:environment])
  end

  def command_for(argv)
    self.class.build_command(resource[:path], resource[:directory], resource[:user], argv)
  end
end
