# frozen_string_literal: true

require 'spec_helper'

describe Puppet::Type.type(:jail_restart) do
  let(:name) { 'shop_3f2a9c1e0b1a' }
  let(:catalog) { Puppet::Resource::Catalog.new }
  let(:jail) do
    Puppet::Type.type(:jail).new(
      name: name,
      ensure: 'running',
      address: '172.16.0.2',
      template: 'zroot/jails/templates/14.1-RELEASE@base',
      dataset: "zroot/jails/containers/#{name}",
      path: "/usr/local/jails/containers/#{name}",
      provider: :freebsd,
    )
  end
  let(:restart) { described_class.new(name: name) }

  before(:each) do
    catalog.add_resource(jail)
    catalog.add_resource(restart)
  end

  it 'restarts the jail named by its title' do
    expect(restart[:jail]).to eq(name)
  end

  it 'rejects an invalid jail name' do
    expect { described_class.new(name: 'x', jail: 'Shop;reboot') }.to raise_error(Puppet::ResourceError, /invalid jail name/)
  end

  it 'comes after the jail' do
    expect(restart.autorequire.map { |edge| edge.source.ref }).to eq(["Jail[#{name}]"])
  end

  it 'restarts a running jail through its provider when refreshed' do
    allow(jail.provider).to receive(:status).and_return(:running)
    expect(jail.provider).to receive(:restart)
    restart.refresh
  end

  it 'leaves a stopped jail stopped' do
    allow(jail.provider).to receive(:status).and_return(:stopped)
    expect(jail.provider).not_to receive(:restart)
    restart.refresh
  end

  it 'fails when the jail is not in the catalog' do
    orphan = described_class.new(name: 'blog_aaaaaaaaaaaa')
    catalog.add_resource(orphan)
    expect { orphan.refresh }.to raise_error(Puppet::Error, /Jail\[blog_aaaaaaaaaaaa\] is not in the catalog/)
  end
end
