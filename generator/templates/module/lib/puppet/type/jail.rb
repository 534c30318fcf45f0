# frozen_string_literal: true

require_relative '../../puppet_x/jailgen/validation'

Puppet::Type.newtype(:jail) do
  @doc = <<~DOC
    @summary A jail cloned from a template and described by its own configuration.

    One release of one app lives in one jail. The jail is created from a template
    (on FreeBSD a ZFS snapshot that is cloned), configured with its own address on
    the jail interface and any extra jail(8) parameters, and started or stopped.

    `ensure` takes `present` (exists; running or not is left alone), `running`,
    `stopped` or `absent`. Refreshing a running jail restarts it, so `/etc/rc`
    starts whatever services were installed into it since it was started.

    Providers implement: `status` (`:running`, `:stopped`, `:incomplete` or
    `:absent`), `complete?`, `create`, `start`, `stop`, `restart` and `destroy`;
    `start` and `stop` act only when needed. A provider that decides what starts
    at boot also implements `starts_at_boot?` and `listed_at_boot?`.

    @example A release of the shop app
      jail { 'shop_3f2a9c1e0b1a':
        ensure     => running,
        address    => '172.16.0.2',
        interface  => 'lo1',
        template   => 'zroot/jails/templates/14.1-RELEASE@base',
        dataset    => 'zroot/jails/containers/shop_3f2a9c1e0b1a',
        path       => '/usr/local/jails/containers/shop_3f2a9c1e0b1a',
        parameters => { 'allow.raw_sockets' => true },
      }
  DOC

  validation = PuppetX::Jailgen::Validation

  newproperty(:ensure) do
    desc <<~DOC
      Whether the jail exists and runs: `present`, `running`, `stopped` or `absent`.
      `present` creates a missing jail without starting it and accepts it
      running or stopped.
    DOC

    newvalue(:present) do
      provider.create unless provider.complete?
    end

    newvalue(:running, event: :jail_started) do
      provider.create unless provider.complete?
      provider.start
    end

    newvalue(:stopped, event: :jail_stopped) do
      provider.create unless provider.complete?
      provider.stop
    end

    newvalue(:absent) do
      provider.destroy
    end

    def retrieve
      provider.status
    end

    # A running jail is in sync when it also starts at boot, a stopped one
    # when it does not (providers without a boot list start nothing at boot).
    def insync?(is)
      return [:running, :stopped].include?(is) if should == :present
      return false unless is == should
      return true unless provider.respond_to?(:starts_at_boot?)

      case should
      when :running then provider.starts_at_boot?
      when :stopped then !provider.listed_at_boot?
      else true
      end
    end
  end

  newparam(:name, namevar: true) do
    desc <<~DOC
      The jail's name, also its dataset component and default host name:
      lower-case letters, digits and underscores, starting with a letter,
      at most 63 characters (jailgen uses `<app>_<12 hex digits>`).
    DOC

    validate do |value|
      unless validation.name?(value)
        raise ArgumentError, "invalid jail name #{value.inspect}: expected lower-case letters, digits and underscores, " \
                             'starting with a letter, at most 63 characters'
      end
    end
  end

  newproperty(:address) do
    desc "The jail's IPv4 address on `interface` (dotted quad)."

    validate do |value|
      raise ArgumentError, "invalid IPv4 address #{value.inspect} for jail" unless validation.ipv4?(value)
    end
  end

  newproperty(:interface) do
    desc 'The host interface the address is added to (`lo1` on FreeBSD, `lo` on Linux).'

    validate do |value|
      raise ArgumentError, "invalid interface name #{value.inspect}" unless validation.interface?(value)
    end
  end

  newproperty(:hostname) do
    desc "The jail's host name. Defaults to the jail's name."

    defaultto { @resource[:name] }

    validate do |value|
      raise ArgumentError, "invalid host name #{value.inspect}" unless validation.hostname?(value)
    end
  end

  newproperty(:parameters) do
    desc <<~DOC
      Extra jail(8) parameters as a hash, for example `{ 'allow.raw_sockets' => true }`.
      Names are FreeBSD 14 jail(8) parameters (`PuppetX::Jailgen::JailParameters`,
      the table jailgen checks the catalog with); a boolean's `no` form
      (`allow.noraw_sockets`) is refused in favour of `false`. Values follow
      the parameter's kind: booleans, integers (in range), one of the words of
      a choice such as `ip6`, or strings of letters, digits and `_.,:/=+@%-`.
      Parameters the type sets itself (path, host.hostname, interface,
      ip4.addr, exec.start, exec.stop, exec.consolelog, exec.clean,
      mount.devfs), commands (exec.prestart, ...), network settings and
      read-only parameters are rejected.
    DOC

    defaultto({})

    validate do |value|
      raise ArgumentError, "jail parameters must be a hash, not #{value.inspect}" unless value.is_a?(Hash)

      value.each { |key, val| validation.validate_parameter!(key, val) }
    end

    munge do |value|
      validation.normalize_parameters(value)
    end
  end

  newparam(:template) do
    desc <<~DOC
      What the jail is cloned from when it is created: a ZFS snapshot such as
      `zroot/jails/templates/14.1-RELEASE@base` on FreeBSD, an absolute template
      directory on Linux. Changing it does not affect an existing jail.
    DOC

    validate do |value|
      unless validation.snapshot?(value) || validation.absolute_path?(value)
        raise ArgumentError, "invalid template #{value.inspect}: expected a ZFS snapshot (pool/dataset@name) or an absolute path"
      end
    end
  end

  newparam(:dataset) do
    desc 'The ZFS dataset the template is cloned to (FreeBSD), for example `zroot/jails/containers/<name>`.'

    validate do |value|
      raise ArgumentError, "invalid ZFS dataset name #{value.inspect}" unless validation.dataset?(value)
    end
  end

  newparam(:path) do
    desc "The jail's root directory (absolute); on FreeBSD the dataset's mountpoint."

    validate do |value|
      raise ArgumentError, "invalid jail path #{value.inspect}: expected a normalised absolute path" unless validation.absolute_path?(value)
    end
  end

  validate do
    if self[:ensure] && self[:ensure] != :absent
      missing = [:address, :template, :path].select { |attr| self[attr].nil? }
      unless missing.empty?
        raise ArgumentError, "jail #{self[:name]}: #{missing.join(', ')} must be set unless ensure is absent"
      end
    end
  end

  autorequire(:file) do
    [self[:path] && File.dirname(self[:path]), '/etc/jail.conf.d'].compact
  end

  # Restart a running jail so that its rc scripts see what was installed since
  # it started; a jail that is stopped, or is being stopped, stays stopped.
  def refresh
    if [:running, :present].include?(self[:ensure]) && provider.status == :running
      provider.restart
    else
      debug 'Not restarting: jail is not running'
    end
  end
end
