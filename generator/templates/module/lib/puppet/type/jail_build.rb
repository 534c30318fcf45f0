# frozen_string_literal: true

require_relative '../../puppet_x/jailgen/validation'

Puppet::Type.newtype(:jail_build) do
  @doc = <<~DOC
    @summary Builds one release of an app in its jail, once: its `build` commands, run in its checkout.

    The commands run one after the other in the release's checkout, as the
    app's user, with the jail's own binaries (its root is `/`) and the host's
    network (a jail has none of its own): a bubblewrap sandbox on Linux, a
    chroot on FreeBSD. Each command is an argument vector, never a shell string.
    Their output is appended to `/var/log/<app>-build.log` in the jail.

    A release is built when its marker, `/var/db/jailgen/<app>.built` in the
    jail, records this revision and these commands and environment. The marker
    is written only after every command has succeeded, so a build that failed
    or was interrupted is run again, from its first command, on the next run.
    A failing command fails the resource with the command, its exit status and
    the last lines of its output; what depends on the build (the service) is
    skipped, so a half-built release is never started.

    @example
      jail_build { 'shop_3f2a9c1e0b1a':
        app         => 'shop',
        revision    => '3f2a9c1e0b1a4c5d6e7f8091a2b3c4d5e6f70812',
        path        => '/usr/local/jails/containers/shop_3f2a9c1e0b1a',
        directory   => '/usr/local/shop',
        commands    => [['/usr/local/bin/python3.11', '-m', 'venv', '.venv'],
                        ['.venv/bin/pip', 'install', '-r', 'requirements.txt']],
        environment => { 'PORT' => 8000 },
      }
  DOC

  newproperty(:ensure) do
    desc 'Whether the release is built: `built` (the only value to ask for).'

    newvalue(:built) do
      provider.build
    end

    defaultto :built

    def retrieve
      provider.built? ? :built : :unbuilt
    end
  end

  newparam(:name, namevar: true) do
    desc 'The name of the jail the release is in.'

    validate do |value|
      raise ArgumentError, "invalid jail name #{value.inspect}" unless PuppetX::Jailgen::Validation.name?(value)
    end
  end

  newparam(:app) do
    desc 'The app; names the build log and marker.'

    validate do |value|
      raise ArgumentError, "invalid app name #{value.inspect}" unless value.is_a?(String) && value.match?(/\A[a-z][a-z0-9]{0,29}\z/)
    end
  end

  newparam(:revision) do
    desc 'The full git commit id of the release; a new revision is a new build.'

    validate do |value|
      raise ArgumentError, "invalid revision #{value.inspect}" unless value.is_a?(String) && value.match?(/\A[0-9a-f]{40}\z/)
    end
  end

  newparam(:path) do
    desc "The jail's root directory on the host."

    validate do |value|
      raise ArgumentError, "path must be absolute, not #{value.inspect}" unless PuppetX::Jailgen::Validation.absolute_path?(value)
    end
  end

  newparam(:directory) do
    desc 'The checkout, as a path inside the jail; the commands run there.'

    validate do |value|
      raise ArgumentError, "directory must be absolute, not #{value.inspect}" unless PuppetX::Jailgen::Validation.absolute_path?(value)
    end
  end

  newparam(:commands) do
    desc 'The argument vectors to run, in order.'

    validate do |value|
      ok = value.is_a?(Array) && !value.empty? && value.all? do |argv|
        argv.is_a?(Array) && !argv.empty? && argv.all? { |arg| arg.is_a?(String) && !arg.empty? && !arg.match?(/[\x00-\x1f]/) }
      end
      raise ArgumentError, "commands must be a non-empty list of argument vectors, not #{value.inspect}" unless ok
    end
  end

  newparam(:environment) do
    desc "Environment variables of the commands: the app's `run` environment."

    defaultto({})

    validate do |value|
      ok = value.is_a?(Hash) && value.all? { |k, v| k.to_s.match?(/\A[A-Za-z_][A-Za-z0-9_]*\z/) && !v.to_s.match?(/[\x00-\x1f]/) }
      raise ArgumentError, "environment must map variable names to values, not #{value.inspect}" unless ok
    end

    munge do |value|
      value.to_h { |k, v| [k.to_s, v.to_s] }
    end
  end

  newparam(:user) do
    desc "The user the commands run as, from the jail's (Linux) or the host's (FreeBSD) passwd file."

    defaultto 'www'

    validate do |value|
      raise ArgumentError, "invalid user #{value.inspect}" unless value.is_a?(String) && value.match?(/\A[a-z_][a-z0-9_-]*\z/)
    end
  end

  newparam(:timeout) do
    desc 'Seconds one command may take before it is killed and the build fails.'

    defaultto 1800

    munge { |value| Integer(value) }
  end

  autorequire(:jail) do
    [self[:name]]
  end
end
