# frozen_string_literal: true

require 'spec_helper'

describe Puppet::Type.type(:jail_build).provider(:freebsd) do
  it "runs a command with chroot(8) into the jail's root, as the user, in the checkout, through a fixed sh script" do
    expect(described_class.build_command('/usr/local/jails/containers/shop_3f2a9c1e0b1a', '/usr/local/shop', 'www',
                                         ['.venv/bin/pip', 'install', '-r', 'requirements.txt'])).to eq(
      [
        '/usr/sbin/chroot', '-u', 'www', '-g', 'www', '/usr/local/jails/containers/shop_3f2a9c1e0b1a',
        '/bin/sh', '-c', 'cd "$1" || exit 1; shift; exec "$@"', 'jailgen-build', '/usr/local/shop',
        '.venv/bin/pip', 'install', '-r', 'requirements.txt'
      ],
    )
  end

  it 'gives the command only its environment, with a FreeBSD PATH and HOME in the checkout' do
    expect(described_class.build_environment('/usr/local/shop', 'PORT' => '8000')).to eq(
      'PATH' => '/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin',
      'HOME' => '/usr/local/shop',
      'PORT' => '8000',
    )
  end
end
