# frozen_string_literal: true

require_relative '../../puppet_x/jailgen/validation'

Puppet::Type.newtype(:jail_restart) do
  @doc = <<~DOC
    @summary Restarts a running jail when it is notified, after what was put into the jail.

    A jail must exist before anything can be installed into it, so the
    resources that provision it cannot notify the `jail` resource itself (that
    would be a dependency cycle). They notify this resource instead, which comes
    after them and refreshes the jail: a running jail is restarted by its own
    provider, so `/etc/rc` starts what was installed; a stopped jail stays stopped.
    It manages no state of its own and does nothing unless notified.

    @example
      jail_restart { 'shop_3f2a9c1e0b1a':
        subscribe => File['/usr/local/jails/containers/shop_3f2a9c1e0b1a/usr/local/etc/rc.d/shop'],
      }
  DOC

  newparam(:name, namevar: true) do
    desc 'A name for this resource; the jail restarted is `jail`, which defaults to it.'
  end

  newparam(:jail) do
    desc 'The name of the `jail` resource to restart. Defaults to the title.'

    defaultto { @resource[:name] }

    validate do |value|
      raise ArgumentError, "invalid jail name #{value.inspect}" unless PuppetX::Jailgen::Validation.name?(value)
    end
  end

  autorequire(:jail) do
    [self[:jail]]
  end

  def refresh
    jail = catalog && catalog.resource(:jail, self[:jail])
    raise Puppet::Error, "Jail[#{self[:jail]}] is not in the catalog" if jail.nil?

    jail.refresh
  end
end
